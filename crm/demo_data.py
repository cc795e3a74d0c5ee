"""Word lists and California geography for the demo world and the benchmark generator.

Everything here is plain data: no I/O, no randomness. ``crm/demo.py`` combines it.

* People: first names and surnames as they occur across California (Latino, Vietnamese, Chinese,
  Korean, Filipino, Japanese, Punjabi, Hmong, Armenian, Persian, Arab, Portuguese, Black American,
  Anglo and European families), because the employers and partners of a California RPU are.
* Business names: per-sector trade phrases, each with the NAICS 2022 6-digit code it stands for,
  optional sector qualifiers, generic modifiers and the places of each region.
* Geography: for every one of the 58 counties (all 14 RPUs), its population (thousands, 2020
  census, rounded), its telephone area codes and real cities with real ZIP codes. Small counties
  list at least the county seat. A city may override the county's area codes.
* Demo partner organizations of the four fully populated demo regions.
"""

from __future__ import annotations

from typing import NamedTuple


def _words(text: str) -> tuple[str, ...]:
    """One entry per line or comma; order kept, duplicates dropped."""
    items = (w.strip() for line in text.strip().splitlines() for w in line.split(","))
    return tuple(dict.fromkeys(w for w in items if w))


# --------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------

SURNAMES: tuple[str, ...] = _words("""
Garcia, Hernandez, Lopez, Martinez, Gonzalez, Rodriguez, Sanchez, Ramirez, Torres, Flores, Rivera
Gomez, Diaz, Reyes, Morales, Cruz, Ortiz, Gutierrez, Chavez, Ramos, Ruiz, Alvarez, Mendoza, Castillo
Jimenez, Moreno, Romero, Herrera, Medina, Aguilar, Vargas, Castro, Guzman, Fernandez, Salazar, Delgado
Contreras, Estrada, Figueroa, Soto, Navarro, Valenzuela, Cervantes, Ochoa, Zamora, Orozco, Ayala
Cardenas, Ibarra, Maldonado, Villanueva, Espinoza, Barajas, Carrillo, Rosales, Serrano, Arellano
Sandoval, Mejia, Cabrera, Padilla, Solis, Dominguez, Velasquez, Trujillo, Quintero, Galvan, Montoya
Pacheco, Luna, Robles, Fuentes, Camacho, Bautista, Escobar, Lozano, Zepeda, Acosta, Vega, Rojas
Nuñez, Peña, Muñoz, Avila, Esparza, Magaña, Beltran, Ponce, Villalobos, Corona, Cisneros, Tapia
Olvera, Saucedo, Castañeda, Quintana, Arroyo, Bravo, Salinas, Vasquez, Alvarado, Duarte, Guerrero
Nguyen, Tran, Pham, Huynh, Hoang, Phan, Vu, Vo, Dang, Bui, Ngo, Duong, Truong, Lam, Luong, Trinh
Kim, Lee, Park, Choi, Jung, Kang, Cho, Yoon, Lim, Han, Shin, Oh, Seo
Wong, Chen, Wang, Zhang, Liu, Huang, Lin, Chang, Wu, Yang, Chan, Leung, Lau, Cheung, Tang, Fong
Louie, Chu, Yee, Tam, Kwan, Zhou, Xu, Sun, Ma, Hu, Guo
Santos, Dela Cruz, Aquino, Manalo, Pascual, Tolentino, Soriano, Domingo, Macaraeg, Bernardo, Ocampo
Tanaka, Nakamura, Yamamoto, Watanabe, Kobayashi, Sato, Suzuki, Takahashi, Fujimoto, Okada, Hayashi
Matsumoto, Inouye, Yoshida, Nishimura
Patel, Shah, Singh, Sandhu, Gill, Dhillon, Grewal, Sidhu, Bains, Johal, Randhawa, Gupta, Sharma
Kumar, Reddy, Rao, Iyer, Mehta, Desai, Joshi, Chaudhry, Malhotra
Vang, Xiong, Thao, Moua, Lor, Vue, Khang, Yang, Her
Petrosyan, Sarkisian, Hovsepian, Avakian, Gasparyan, Karapetyan, Mardirossian, Manukyan
Hakimi, Rahimi, Farahani, Tehrani, Karimi, Haddad, Khoury, Nassar, Saleh, Mansour, Abboud, Hamdan
Silva, Souza, Machado, Medeiros, Costa, Mendes, Bettencourt, Azevedo, Furtado, Rocha, Pereira
Freitas, Amaral, Nunes
Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Anderson, Taylor, Thomas, Moore
Jackson, Martin, Thompson, White, Harris, Clark, Lewis, Robinson, Walker, Young, Allen, Wright
King, Scott, Green, Baker, Adams, Nelson, Hill, Campbell, Mitchell, Roberts, Carter, Phillips
Evans, Turner, Parker, Collins, Edwards, Stewart, Morris, Murphy, Cook, Rogers, Morgan, Cooper
Peterson, Bailey, Reed, Kelly, Howard, Ward, Richardson, Watson, Brooks, Wood, Bennett, Gray
Hughes, Price, Sanders, Myers, Ross, Foster, Powell, Jenkins, Perry, Russell, Sullivan, Bell
Coleman, Butler, Henderson, Barnes, Fisher, Simmons, Graham, Marshall, Owens, Harrison, Gibson
Wallace, Ellis, Hamilton, O'Brien, O'Connor, McCarthy, Murray, Schmidt, Mueller, Weber, Becker
Hoffman, Olsen, Larsen, Nielsen, Lindqvist, Rossi, Russo, Romano, Esposito, Ricci, Giordano
Kowalski, Novak, Ivanov, Petrov, Volkov, Washington, Jefferson, Freeman, Holloway, Banks, Hayes
Boyd, Gaines, Pruitt, Whitfield, Dunbar, Okafor, Adeyemi, Mensah, Tesfaye, Haile, Abebe, Osei
""")

FIRST_NAMES: tuple[str, ...] = _words("""
Maria, Jose, Juan, Luis, Carlos, Ana, Sofia, Isabella, Miguel, Alejandro, Gabriela, Daniela
Fernando, Javier, Ricardo, Rosa, Patricia, Veronica, Adriana, Diego, Jorge, Elena, Lucia, Marisol
Guadalupe, Alma, Ruben, Hector, Raul, Oscar, Cristina, Leticia, Yesenia, Brenda, Andres, Eduardo
Francisco, Armando, Claudia, Monica, Araceli, Itzel, Joaquin, Mateo
Michael, David, James, John, Robert, William, Christopher, Daniel, Matthew, Joshua, Andrew, Ryan
Brian, Kevin, Jason, Justin, Brandon, Tyler, Nathan, Aaron, Jennifer, Jessica, Ashley, Amanda
Sarah, Stephanie, Nicole, Elizabeth, Megan, Lauren, Rachel, Emily, Samantha, Katherine, Heather
Rebecca, Laura, Karen, Michelle, Angela, Tiffany, Danielle, Kimberly, Melissa, Amy, Linda, Susan
Darnell, DeShawn, Jamal, Andre, Terrell, Marcus, Keisha, Tanisha, Latoya, Aaliyah, Jasmine, Imani
Malik, Xavier, Kendra, Monique
Minh, Thanh, Linh, Tuan, Huong, Quang, Phuong, Hung, Mai, Bao, Khanh, Thuy
Wei, Mei, Jing, Hui, Xin, Jun, Ming, Yan, Lei, Kelvin, Vivian, Winnie
Min-jun, Ji-woo, Seo-yeon, Hye-jin, Sung, Eun-ji, Jae
Ramon, Rowena, Maricel, Jocelyn, Arnel, Rodel, Lorna, Emmanuel
Kenji, Yuki, Hiro, Akiko, Naomi, Ken
Priya, Raj, Anjali, Arjun, Rohan, Sunita, Deepak, Neha, Vikram, Gurpreet, Harpreet, Manpreet
Jaspreet, Amrit, Sanjay, Kavita, Ravi
Tou, Kou, Nou, Chue, Yer, Pao, Mai Nhia
Armen, Ani, Narine, Levon, Tigran, Lilit, Aram
Reza, Leila, Omid, Nasrin, Amir, Yasmin, Omar, Fatima, Layla, Samir, Hassan
João, Manuel, Filomena, Tiago
Chidi, Ngozi, Kwame, Selam, Tsion, Yohannes
Emma, Olivia, Noah, Liam, Ethan, Chloe, Grace, Hannah, Zoe, Logan, Caleb, Connor, Dylan, Evan
Jacob, Owen, Sean, Patrick, Colleen, Erin, Shannon, Kathleen, Margaret, Gloria, Teresa, Irene
Victor, Raymond, Gary, Dennis, Frank, Greg, Paul, Steve, Tom, Diane, Carol, Denise
""")

# --------------------------------------------------------------------------------------------
# Business names
# --------------------------------------------------------------------------------------------

# Generic name-givers: "Sunrise Family Dental", "Summit Precision Machining".
MODIFIERS: tuple[str, ...] = _words("""
Sunrise, Golden State, Summit, Pinnacle, Evergreen, Redwood, Sequoia, Cypress, Oakridge, Blue Sky
Pacific Crest, Horizon, Keystone, Cornerstone, Heritage, Liberty, Pioneer, Mesa, Vista, Canyon
Granite, Silverline, Bright Path, True North, Northstar, Eagle, Falcon, Phoenix, Monarch, Poppy
El Dorado, Bella Vista, Del Sol, Buena Vista, Alta, Apex, Allied, United, American, Western
Sierra Vista, Orchard, Harvest, Greenleaf, Bluewater, Clearwater, Ironwood, Stonebridge, Riverbend
Lakeside, Hillside, Highland, Meridian, Compass, Anchor, Beacon, Lighthouse, Crossroads, Gateway
Frontier, Trailhead, Sunset, Starlight, Firstline, Benchmark, Cardinal, Sterling, Landmark, Legacy
Mountainside, Oak Tree, Willow, Juniper, Manzanita, Madrone, Sagebrush, Tumbleweed, Quail, Condor
Coyote, Bear Flag, Mariposa, Paloma, Solana, Arroyo Seco, Bayside, Seaside, Shoreline, Tidewater
Four Winds, Silver Oak, Black Oak, White Oak, Red Oak, Live Oak, Blue Heron, Golden Bear, Copper
Cobalt, Indigo, Emerald, Sapphire, Jade, Onyx, Amber, Crimson, Saffron, Sage
""")

# Regional place names used in business names ("Valley Fresh Packing", "Inland Logistics Group").
REGION_PLACES: dict[str, tuple[str, ...]] = {
    "BAY-PENINSULA": _words("""
        Bay, Peninsula, Golden Gate, Silicon Valley, Bayshore, Mission, Presidio, Coastside
        Santa Clara, San Jose, Redwood City, Embarcadero, Sunnyvale, Almaden, Palo Alto, Skyline
        Twin Peaks, Alviso, Evergreen Valley, Sand Hill, Dogpatch, Bayview, Potrero, Mission Bay"""),
    "CAPITAL": _words("""
        Capital, Sacramento, River City, Delta, Gold Country, American River, Sierra Foothills
        Placer, Yolo, Sutter Buttes, Feather River, Natomas, Folsom Lake, Tahoe, Capitol Valley"""),
    "COASTAL": _words("""
        Central Coast, Monterey Bay, Salinas Valley, Santa Lucia, Big Sur, Pajaro Valley, Cuesta
        Santa Ynez, Channel Coast, Gaviota, Edna Valley, Carmel Valley, Santa Maria Valley, Morro Bay"""),
    "EAST-BAY": _words("""
        East Bay, Oakland, Diablo, Tri-Valley, Alameda, Contra Costa, Lake Merritt, Carquinez
        Mount Diablo, Berkeley, Jack London, Fruitvale, Livermore Valley, San Leandro Bay"""),
    "HUMBOLDT": _words("""
        Humboldt, Redwood Coast, North Coast, Eel River, Humboldt Bay, Lost Coast, Trinidad
        Six Rivers, Mad River, Samoa, Arcata Bay, Fortuna Valley"""),
    "INLAND-EMPIRE": _words("""
        Inland, Inland Empire, Empire, Riverside, San Bernardino, Mojave, High Desert, Desert
        Coachella Valley, Temecula Valley, Cucamonga, Arrowhead, Santa Ana River, Big Bear, Ontario
        Citrus, Foothill, Redlands, Jurupa, Chino Valley, Route 66, San Jacinto, Cajon Pass"""),
    "LA-BASIN": _words("""
        Los Angeles, LA, Angeles, Pacific, Harbor, South Bay, San Gabriel, Crenshaw, Westside
        San Fernando Valley, Foothill, Long Beach, Pasadena, Glendale, Sunset, Wilshire, Mid-City
        Eastside, Arroyo, Catalina, Santa Monica, Antelope Valley, Boyle Heights, Olympic, Hollywood
        Gateway Cities, Downtown LA, Silver Lake, Echo Park, Figueroa"""),
    "MIDDLE-SIERRA": _words("""
        Mother Lode, Sierra, Gold Country, Yosemite, Stanislaus, Tuolumne, Calaveras, High Sierra
        Columbia, Sonora Pass, Jackson Valley, Mokelumne"""),
    "NORTH-BAY": _words("""
        North Bay, Wine Country, Napa Valley, Sonoma, Redwood Empire, Marin, Russian River
        Petaluma, Solano, Mendocino Coast, Clear Lake, Carneros, Dry Creek, Suisun Valley"""),
    "NORTEC": _words("""
        North State, Shasta, Lassen, Sacramento River, Butte, Feather River, Mount Shasta
        Siskiyou, Trinity, Sierra Nevada, Klamath, Plumas, Tehama, Whiskeytown, Modoc Plateau"""),
    "ORANGE": _words("""
        Orange County, OC, Saddleback, Newport, Santa Ana, Anaheim, Harbor, Pacific, Capistrano
        Laguna, Irvine, Surf City, Tustin, Costa Mesa, Orange Coast, Canyon Hills"""),
    "SAN-JOAQUIN": _words("""
        Valley, Central Valley, San Joaquin, Sierra, Kern, Fresno, Tulare, Kings River, Delta
        Stockton, Sequoia, Westside, Modesto, Merced, Golden Valley, Kaweah, Tule River, Madera
        Valley Fresh, Sun Valley, Harvest Valley, Oakdale, Kettleman, Yokuts"""),
    "SOUTHERN-BORDER": _words("""
        San Diego, Border, Imperial Valley, Coronado, Mission Bay, Pacific, Point Loma, Otay
        Cuyamaca, Harbor, Bayfront, Palomar, Torrey Pines, Chula Vista, Escondido, Desert"""),
    "VENTURA": _words("""
        Ventura, Channel Islands, Oxnard Plain, Conejo, Santa Clara River, Ojai Valley, Gold Coast
        Pacific, Simi Valley, Port Hueneme, Camarillo, Santa Paula"""),
}

LEGAL_SUFFIXES: tuple[tuple[str, int], ...] = (
    ("", 24), ("Inc", 22), ("Inc.", 8), (", Inc.", 5), ("LLC", 25), ("Corp", 5), ("Corporation", 3),
    ("Co", 3), ("Co.", 2), ("Company", 2), ("Incorporated", 1),
)


class SectorSpec(NamedTuple):
    """A sector of the demo economy: trade phrases with their NAICS 2022 code, qualifiers."""

    trades: tuple[tuple[str, str], ...]
    qualifiers: tuple[str, ...]
    weight: float  # default share of establishments (relative)
    possessive: bool = False  # "Delgado's Kitchen" reads naturally
    office: bool = False  # addresses may carry a suite number
    titles: tuple[str, ...] = ()


def _trades(text: str) -> tuple[tuple[str, str], ...]:
    out = []
    for line in text.strip().splitlines():
        for item in line.split(";"):
            if item.strip():
                phrase, naics = item.rsplit("=", 1)
                out.append((phrase.strip(), naics.strip()))
    return tuple(out)


SECTORS: dict[str, SectorSpec] = {
    "agriculture": SectorSpec(
        _trades("""
            Farms=111219; Growers=111219; Produce=111219; Orchards=111339; Almond Orchards=111335
            Pistachio Growers=111335; Nut Company=111335; Vineyards=111332; Citrus=111310
            Dairy=112120; Dairy Farms=112120; Fresh Packing=115114; Packing Co=115114
            Farm Labor Services=115115; Nursery=111421; Harvesting=115113; Ag Services=115112
            Cotton Gin=115111; Egg Ranch=112310; Berry Farms=111333; Cattle Company=112111"""),
        _words("Fresh, Golden, Organic, Family, Harvest, Sun, Green, Heritage, Natural, Pure"),
        1.0, titles=("Ranch Manager", "Field Operations Manager", "Packing House Manager",
                     "Food Safety Manager", "Farm Manager", "Crew Supervisor")),
    "mining": SectorSpec(
        _trades("""
            Oil & Gas Services=213112; Drilling=213111; Aggregates=212321; Rock & Sand=212321
            Well Services=213112; Petroleum=211120"""),
        _words("Western, Petroleum, Energy, Industrial, Basin"),
        0.3, titles=("Field Superintendent", "HSE Manager", "Operations Manager")),
    "utilities": SectorSpec(
        _trades("Solar=221114; Water Company=221310; Energy Services=221118; Solar Farms=221114"),
        _words("Clean, Green, Community, Renewable, Bright, Sun"),
        0.4, office=True, titles=("Plant Manager", "Operations Manager", "Workforce Development Manager")),
    "construction": SectorSpec(
        _trades("""
            Construction=236220; Builders=236115; Plumbing=238220; Heating & Air=238220
            Electric=238210; Electrical Contractors=238210; Roofing=238160; Grading & Paving=238910
            Paving=237310; Concrete=238110; Masonry=238140; Painting=238320; Drywall=238310
            Flooring=238330; Cabinet & Millwork=238350; Underground=237110; Steel Erectors=238120
            Glass & Glazing=238150; Fire Protection=238220; Solar Installers=238210
            General Contractors=236220; Homes=236115; Demolition=238910; Mechanical=238220"""),
        _words("General, Custom, Quality, Reliable, Commercial, Pro, Master, Premier, Superior, Precision"),
        11.0, titles=("Project Manager", "Superintendent", "Safety Manager", "Estimator",
                      "Field Operations Manager", "Apprenticeship Coordinator")),
    "manufacturing": SectorSpec(
        _trades("""
            Precision Machining=332710; Machine Works=332710; Metal Fabrication=332312
            Metal Works=332312; Sheet Metal=332322; Plastics=326199; Tool & Die=333514
            Foods=311999; Bakery=311812; Apparel=315250; Electronics=334418; Circuits=334418
            Semiconductor=334413; Aerospace Components=336413; Packaging=322211; Cabinetry=337110
            Furniture=337122; Printing=323111; Brewing Company=312120; Winery=312130
            Canning=311421; Creamery=311511; Medical Devices=339112; Auto Parts Manufacturing=336390
            Pharmaceuticals=325412; Industries=332999; Manufacturing=339999; Tortilla Factory=311830"""),
        _words("Precision, Custom, Advanced, Quality, Industrial, Specialty, Allied, Integrated, Applied"),
        11.0, titles=("Plant Manager", "Production Supervisor", "Quality Manager", "Maintenance Manager",
                      "Manufacturing Engineer", "EHS Manager")),
    "wholesale": SectorSpec(
        _trades("""
            Supply=423840; Industrial Supply=423840; Distributors=424490; Produce Distributors=424480
            Electrical Supply=423610; Plumbing Supply=423720; Lumber=423310
            Foods Distribution=424410; Auto Parts Wholesale=423120; Restaurant Supply=423440
            Medical Supply=423450; Imports=423990; Trading=424990; Beverage Distributors=424810"""),
        _words("Industrial, Wholesale, Commercial, Western, Allied, United, Premier, National, Quality"),
        6.0, titles=("Warehouse Manager", "Branch Manager", "Operations Manager", "Purchasing Manager")),
    "retail": SectorSpec(
        _trades("""
            Hardware=444140; Home Center=444110; Auto Parts=441330; Market=445110
            Supermarket=445110; Furniture=449110; Pharmacy=456110; Sporting Goods=459110
            Boutique=458110; Produce Market=445230; Building Supply=444180; Motors=441110
            Pet Supply=459910; Appliance=449210; Tire & Wheel=441340; Garden Center=444240"""),
        _words("Family, Discount, Neighborhood, Village, Corner, Super, Value, Main Street, Classic"),
        10.0, possessive=True, titles=("Store Manager", "District Manager", "Assistant Store Manager")),
    "logistics": SectorSpec(
        _trades("""
            Logistics=488510; Trucking=484121; Transport=484110; Freight=484121; Warehousing=493110
            Distribution Center=493110; Cold Storage=493120; Express Delivery=492110; Courier=492110
            Drayage=484110; Freight Forwarding=488510; Fulfillment=493110; Bus Lines=485510
            Moving & Storage=484210; Port Services=488320; Logistics Group=488510"""),
        _words("Express, Global, National, Regional, Direct, Rapid, Continental, Interstate, Priority"),
        7.0, titles=("Warehouse Manager", "Fleet Manager", "Dispatch Manager", "Site Director",
                     "Safety Manager", "Transportation Manager")),
    "information": SectorSpec(
        _trades("""
            Studios=512110; Productions=512110; Post Production=512191; Media=516210
            Broadband=517111; Sound Studios=512240; Software=513210; Publishing=513110
            Cloud Services=518210; Data Center=518210; Games=513210"""),
        _words("Digital, Creative, Independent, Global, Interactive, Visual, Sound, Motion, Bright"),
        2.0, office=True, titles=("Head of Production", "Studio Manager", "Engineering Manager",
                                  "Director of People Operations")),
    "finance": SectorSpec(
        _trades("""
            Credit Union=522130; Insurance Agency=524210; Insurance Services=524210
            Financial=523940; Bank=522110; Mortgage=522310; Wealth Management=523940"""),
        _words("Community, Federal, First, Premier, Family, Trusted, Heritage, United"),
        2.0, office=True, titles=("Branch Manager", "Vice President", "Human Resources Director")),
    "real_estate": SectorSpec(
        _trades("""
            Property Management=531311; Realty=531210; Properties=531120; Equipment Rental=532412
            Self Storage=531130; Truck Rental=532120"""),
        _words("Premier, Golden, Select, Heritage, Capital, Prime, Sterling, Landmark"),
        2.0, office=True, titles=("Property Manager", "Broker", "Regional Manager")),
    "professional": SectorSpec(
        _trades("""
            Technologies=541512; Software=541511; Systems=541512; IT Solutions=541519
            Engineering=541330; Consulting=541611; CPAs=541211; Accounting=541219; Law Group=541110
            Design=541430; Architects=541310; Labs=541380; Biosciences=541714; Robotics=541715
            Marketing=541810; Data Analytics=541519; Cybersecurity=541519
            Environmental Consulting=541620; Surveying=541370; Veterinary Hospital=541940"""),
        _words("Digital, Smart, Applied, Strategic, Integrated, Advanced, Cloud, Quantum, Data, Agile"),
        10.0, office=True, titles=("Engineering Manager", "Chief Technology Officer", "Managing Partner",
                                   "Director of People Operations", "Office Manager")),
    "admin_support": SectorSpec(
        _trades("""
            Staffing=561320; Janitorial=561720; Landscaping=561730; Security Services=561612
            Waste Services=562111; Employment Agency=561311; Building Maintenance=561790
            Pest Control=561710; Recycling=562920; Call Center=561422; Facility Services=561210"""),
        _words("Professional, Reliable, Total, Premier, Complete, Commercial, Green, Quality, Elite"),
        6.0, titles=("Branch Manager", "Operations Manager", "Account Manager", "Recruiting Manager")),
    "education": SectorSpec(
        _trades("""
            Training Institute=611519; Truck Driving School=611519; Learning Center=611710
            Academy=611699; Beauty College=611511; Tutoring=611691"""),
        _words("Career, Technical, Professional, Bright, Future, Excel, Skills, Pathway"),
        1.0, office=True, titles=("Director", "Campus Director", "Admissions Manager")),
    "health": SectorSpec(
        _trades("""
            Dental=621210; Dental Group=621210; Medical Group=621111; Home Health=621610
            Pediatrics=621111; Physical Therapy=621340; Urgent Care=621498; Senior Living=623312
            Skilled Nursing=623110; Optometry=621320; Behavioral Health=621330
            Clinical Laboratory=621511; Surgery Center=621493; Child Care Center=624410
            Hospice=621610; Community Clinic=621498; Home Care=624120"""),
        _words("Family, Community, Comprehensive, Gentle, Complete, Premier, Integrated, Compassionate"),
        14.0, office=True, titles=("Practice Manager", "Director of Nursing", "Clinic Administrator",
                                   "Administrator", "HR Business Partner", "Nurse Manager")),
    "arts": SectorSpec(
        _trades("""
            Fitness=713940; Family Fun Center=713990; Golf Club=713910; Bowling=713950
            Theater=711110; Sports Club=713940"""),
        _words("Family, Community, Ultimate, Grand, Elite, Total, Adventure, Star"),
        1.5, titles=("General Manager", "Program Director", "Operations Manager")),
    "hospitality": SectorSpec(
        _trades("""
            Restaurant=722511; Grill=722511; Kitchen=722511; Cafe=722515; Taqueria=722513
            Catering=722320; Inn=721110; Hotel=721110; Suites=721110; Bakery & Cafe=722515
            Pizza=722513; Taproom=722410; Bistro=722511; Noodle House=722511; Pho=722511
            Burgers=722513; Coffee Roasters=722515; Donuts=722515; Mariscos=722511"""),
        _words("Family, Original, Little, Golden, Royal, Happy, Lucky, Grand, Old Town"),
        10.0, possessive=True, titles=("General Manager", "Executive Chef", "Kitchen Manager",
                                       "Front Office Manager")),
    "other_services": SectorSpec(
        _trades("""
            Auto Repair=811111; Collision Center=811121; Salon=812112; Cleaners=812320
            Equipment Repair=811310; Car Wash=811192; Barbershop=812111; Pet Grooming=812910
            Tire Service=811198; Funeral Home=812210; Auto Body=811121"""),
        _words("Quality, Family, Precision, Express, Classic, Pro, Elite, Master, Quick"),
        6.0, possessive=True, titles=("Shop Manager", "Service Manager", "Owner")),
}

# Multipliers on the default sector weights, by region (what the regional plans call the
# region's priority sectors: San Joaquin agriculture, Inland Empire logistics, Bay tech ...).
REGION_SECTOR_BOOST: dict[str, dict[str, float]] = {
    "BAY-PENINSULA": {"professional": 1.9, "information": 3.0, "agriculture": 0.2, "logistics": 0.7},
    "CAPITAL": {"agriculture": 3.0, "construction": 1.2, "health": 1.1},
    "COASTAL": {"agriculture": 8.0, "hospitality": 1.4, "manufacturing": 0.6},
    "EAST-BAY": {"manufacturing": 1.1, "professional": 1.3, "logistics": 1.2},
    "HUMBOLDT": {"agriculture": 4.0, "hospitality": 1.3, "information": 0.5},
    "INLAND-EMPIRE": {"logistics": 2.3, "construction": 1.2, "wholesale": 1.3, "agriculture": 1.5},
    "LA-BASIN": {"information": 2.5, "manufacturing": 1.1, "logistics": 1.2},
    "MIDDLE-SIERRA": {"hospitality": 1.4, "construction": 1.2, "agriculture": 2.0},
    "NORTH-BAY": {"agriculture": 5.0, "hospitality": 1.3},
    "NORTEC": {"agriculture": 5.0, "health": 1.2, "mining": 2.0},
    "ORANGE": {"professional": 1.3, "manufacturing": 1.1, "agriculture": 0.2},
    "SAN-JOAQUIN": {"agriculture": 12.0, "logistics": 1.3, "mining": 3.0, "manufacturing": 1.0},
    "SOUTHERN-BORDER": {"professional": 1.2, "logistics": 1.2, "agriculture": 2.0},
    "VENTURA": {"agriculture": 5.0, "manufacturing": 0.9},
}

GENERIC_TITLES: tuple[str, ...] = (
    "HR Manager", "Human Resources Director", "Operations Manager", "General Manager", "Owner",
    "Office Manager", "Talent Acquisition Manager", "Recruiter", "Training Coordinator", "President",
    "Chief Executive Officer", "Controller", "HR Generalist", "Chief Operating Officer",
)

STREET_NAMES: tuple[str, ...] = _words("""
Main, Mission, Alameda, Industrial, Commerce, Foothill, Valley, Olive, Palm, Sycamore, Oak, Cedar
Pine, Walnut, Magnolia, Jefferson, Lincoln, Washington, Madison, Grand, Figueroa, Atlantic, Pacific
Harbor, Airport, Orchard, Vineyard, Almond, Canal, Rancho, Sierra, Mountain View, Vista, Central
Railroad, Santa Fe, Sunset, Citrus, University, Church, Market, Front, First, Second, Third, Fourth
Fifth, Park, Lake, River, Hillcrest, Garfield, Van Ness, Chestnut, Elm, Maple, Willow, Poplar
Mariposa, Manzanita, Laurel, Cherry, Industrial Park, Enterprise, Technology, Innovation, Research
Corporate Center, Business Center, Progress, Pioneer, Kern, Tulare, Shaw, Herndon, Ashlan
Slauson, Rosecrans, Imperial, Florence, Vermont, Western, Normandie, Hawthorne, Sepulveda, Alondra
Archibald, Haven, Milliken, Etiwanda, Sierra Lakes, Cactus, Iris, Van Buren, Magnolia, Jurupa
Stevens Creek, Winchester, Bascom, Tasman, Zanker, Brokaw, Lawrence, Bowers, Middlefield
""")
STREET_TYPES: tuple[str, ...] = ("St", "Ave", "Blvd", "Dr", "Way", "Rd", "Pkwy", "Ct", "Ln", "Pl")
STREET_PREFIXES: tuple[str, ...] = ("", "", "", "", "", "", "N", "S", "E", "W")

# --------------------------------------------------------------------------------------------
# Geography: county -> (population in thousands, area codes, cities)
# A city is (name, ZIP codes, area codes or "" for the county's).
# --------------------------------------------------------------------------------------------

CityRow = tuple[str, str, str]


class CountyGeo(NamedTuple):
    population_k: int
    area_codes: str
    cities: tuple[CityRow, ...]


COUNTY_GEO: dict[str, CountyGeo] = {
    # BAY-PENINSULA
    "San Francisco": CountyGeo(874, "415 628", (
        ("San Francisco", "94102 94103 94105 94107 94110 94111 94124 94133 94158", ""),
    )),
    "San Mateo": CountyGeo(764, "650", (
        ("San Mateo", "94401 94402 94403", ""), ("Redwood City", "94061 94063 94065", ""),
        ("South San Francisco", "94080", ""), ("Daly City", "94014 94015", ""),
        ("San Carlos", "94070", ""), ("Menlo Park", "94025", ""), ("Burlingame", "94010", ""),
        ("Half Moon Bay", "94019", ""), ("San Bruno", "94066", ""), ("Foster City", "94404", ""),
    )),
    "Santa Clara": CountyGeo(1936, "408 669", (
        ("San Jose", "95110 95112 95113 95122 95125 95128 95131 95133 95134 95136", ""),
        ("Santa Clara", "95050 95051 95054", ""), ("Sunnyvale", "94085 94086 94087 94089", ""),
        ("Mountain View", "94040 94041 94043", "650"), ("Palo Alto", "94301 94303 94304 94306", "650"),
        ("Milpitas", "95035", ""), ("Cupertino", "95014", ""), ("Gilroy", "95020", ""),
        ("Campbell", "95008", ""), ("Morgan Hill", "95037", ""), ("Los Gatos", "95030 95032", ""),
    )),
    # CAPITAL
    "Sacramento": CountyGeo(1585, "916 279", (
        ("Sacramento", "95811 95814 95815 95818 95822 95823 95824 95828 95834 95838", ""),
        ("Elk Grove", "95624 95757 95758", ""), ("Rancho Cordova", "95670 95742", ""),
        ("Citrus Heights", "95610 95621", ""), ("Folsom", "95630", ""), ("Galt", "95632", "209"),
        ("North Highlands", "95660", ""),
    )),
    "Yolo": CountyGeo(217, "530", (
        ("Woodland", "95695 95776", ""), ("Davis", "95616 95618", ""),
        ("West Sacramento", "95605 95691", "916 279"), ("Winters", "95694", ""),
    )),
    "Alpine": CountyGeo(1, "530", (("Markleeville", "96120", ""),)),
    "El Dorado": CountyGeo(192, "530", (
        ("Placerville", "95667", ""), ("El Dorado Hills", "95762", "916"),
        ("South Lake Tahoe", "96150", ""), ("Cameron Park", "95682", ""),
    )),
    "Placer": CountyGeo(404, "916 279", (
        ("Roseville", "95661 95678 95747", ""), ("Rocklin", "95677 95765", ""),
        ("Auburn", "95603", "530"), ("Lincoln", "95648", ""), ("Loomis", "95650", ""),
    )),
    "Colusa": CountyGeo(22, "530", (("Colusa", "95932", ""), ("Williams", "95987", ""))),
    "Glenn": CountyGeo(29, "530", (("Willows", "95988", ""), ("Orland", "95963", ""))),
    "Sutter": CountyGeo(99, "530", (("Yuba City", "95991 95993", ""), ("Live Oak", "95953", ""))),
    "Yuba": CountyGeo(81, "530", (
        ("Marysville", "95901", ""), ("Olivehurst", "95961", ""), ("Wheatland", "95692", ""),
    )),
    # COASTAL
    "Monterey": CountyGeo(439, "831", (
        ("Salinas", "93901 93905 93906 93907", ""), ("Monterey", "93940", ""),
        ("Seaside", "93955", ""), ("Marina", "93933", ""), ("Gonzales", "93926", ""),
        ("Soledad", "93960", ""), ("King City", "93930", ""), ("Castroville", "95012", ""),
    )),
    "Santa Cruz": CountyGeo(271, "831", (
        ("Santa Cruz", "95060 95062 95065", ""), ("Watsonville", "95076", ""),
        ("Scotts Valley", "95066", ""), ("Capitola", "95010", ""),
    )),
    "San Benito": CountyGeo(64, "831", (("Hollister", "95023", ""), ("San Juan Bautista", "95045", ""))),
    "San Luis Obispo": CountyGeo(283, "805", (
        ("San Luis Obispo", "93401 93405", ""), ("Paso Robles", "93446", ""),
        ("Atascadero", "93422", ""), ("Arroyo Grande", "93420", ""), ("Grover Beach", "93433", ""),
        ("Morro Bay", "93442", ""),
    )),
    "Santa Barbara": CountyGeo(448, "805", (
        ("Santa Barbara", "93101 93103 93105", ""), ("Santa Maria", "93454 93455 93458", ""),
        ("Lompoc", "93436", ""), ("Goleta", "93117", ""), ("Carpinteria", "93013", ""),
        ("Buellton", "93427", ""),
    )),
    # EAST-BAY
    "Alameda": CountyGeo(1682, "510 341", (
        ("Oakland", "94601 94603 94605 94606 94607 94612 94621", ""),
        ("Fremont", "94536 94538 94539", ""), ("Hayward", "94541 94544 94545", ""),
        ("Berkeley", "94704 94710", ""), ("San Leandro", "94577 94578", ""),
        ("Livermore", "94550 94551", "925"), ("Pleasanton", "94566 94588", "925"),
        ("Union City", "94587", ""), ("Alameda", "94501", ""), ("Dublin", "94568", "925"),
        ("Emeryville", "94608", ""), ("Newark", "94560", ""),
    )),
    "Contra Costa": CountyGeo(1166, "925", (
        ("Concord", "94518 94519 94520", ""), ("Richmond", "94801 94804 94806", "510 341"),
        ("Antioch", "94509 94531", ""), ("Walnut Creek", "94596 94597", ""),
        ("San Ramon", "94582 94583", ""), ("Pittsburg", "94565", ""), ("Martinez", "94553", ""),
        ("Brentwood", "94513", ""), ("Pleasant Hill", "94523", ""), ("Hercules", "94547", "510"),
    )),
    # HUMBOLDT
    "Humboldt": CountyGeo(136, "707", (
        ("Eureka", "95501 95503", ""), ("Arcata", "95521", ""), ("Fortuna", "95540", ""),
        ("McKinleyville", "95519", ""),
    )),
    # INLAND-EMPIRE
    "Riverside": CountyGeo(2418, "951", (
        ("Riverside", "92501 92503 92504 92505 92507 92508", ""),
        ("Moreno Valley", "92551 92553 92555 92557", ""), ("Corona", "92879 92880 92881 92882", ""),
        ("Temecula", "92590 92591 92592", ""), ("Murrieta", "92562 92563", ""),
        ("Perris", "92570 92571", ""), ("Palm Springs", "92262 92264", "760 442"),
        ("Indio", "92201 92203", "760 442"), ("Hemet", "92543 92545", ""),
        ("Jurupa Valley", "91752 92509", ""), ("Menifee", "92584 92586", ""),
        ("Lake Elsinore", "92530 92532", ""), ("Palm Desert", "92260 92211", "760 442"),
        ("Coachella", "92236", "760 442"), ("Beaumont", "92223", ""), ("Banning", "92220", ""),
        ("Eastvale", "92880", ""),
    )),
    "San Bernardino": CountyGeo(2181, "909", (
        ("San Bernardino", "92401 92404 92405 92407 92408 92410", ""),
        ("Fontana", "92335 92336 92337", ""), ("Ontario", "91761 91762 91764", ""),
        ("Rancho Cucamonga", "91730 91737 91739", ""), ("Victorville", "92392 92394 92395", "760 442"),
        ("Rialto", "92376 92377", ""), ("Redlands", "92373 92374", ""), ("Chino", "91708 91710", ""),
        ("Upland", "91784 91786", ""), ("Hesperia", "92344 92345", "760 442"), ("Colton", "92324", ""),
        ("Barstow", "92311", "760 442"), ("Apple Valley", "92307 92308", "760 442"),
        ("Highland", "92346", ""), ("Chino Hills", "91709", ""), ("Yucaipa", "92399", ""),
        ("Loma Linda", "92354", ""),
    )),
    # LA-BASIN
    "Los Angeles": CountyGeo(10014, "213 323 310 424 562 626 818 747 661", (
        ("Los Angeles", "90001 90011 90012 90013 90015 90021 90023 90031 90058 90065 91331 91342",
         "213 323 310 818"),
        ("Long Beach", "90802 90805 90806 90810 90813", "562"),
        ("Glendale", "91201 91203 91204", "818 747"), ("Pasadena", "91101 91103 91107", "626"),
        ("Santa Clarita", "91350 91355", "661"), ("Torrance", "90501 90502 90503", "310 424"),
        ("Pomona", "91766 91767 91768", "909"), ("Lancaster", "93534 93535", "661"),
        ("Palmdale", "93550 93551", "661"), ("El Monte", "91731 91732", "626"),
        ("Downey", "90240 90241 90242", "562"), ("Inglewood", "90301 90302 90303", "310 424"),
        ("West Covina", "91790 91791", "626"), ("Burbank", "91502 91504 91505", "818 747"),
        ("Norwalk", "90650", "562"), ("Compton", "90220 90221 90222", "310 424"),
        ("Carson", "90745 90746", "310 424"), ("Commerce", "90040", "323"), ("Vernon", "90058", "323"),
        ("City of Industry", "91744 91745 91746 91748", "626"), ("Santa Monica", "90401 90404", "310 424"),
        ("Whittier", "90601 90602 90605", "562"), ("Gardena", "90247 90248 90249", "310 424"),
        ("El Segundo", "90245", "310 424"), ("Culver City", "90230 90232", "310 424"),
        ("Alhambra", "91801 91803", "626"), ("Montebello", "90640", "323"),
        ("Hawthorne", "90250", "310 424"), ("South Gate", "90280", "323"),
    )),
    # MIDDLE-SIERRA
    "Amador": CountyGeo(41, "209", (
        ("Jackson", "95642", ""), ("Sutter Creek", "95685", ""), ("Ione", "95640", ""),
    )),
    "Calaveras": CountyGeo(45, "209", (
        ("San Andreas", "95249", ""), ("Angels Camp", "95222", ""), ("Valley Springs", "95252", ""),
    )),
    "Mariposa": CountyGeo(17, "209", (("Mariposa", "95338", ""),)),
    "Tuolumne": CountyGeo(55, "209", (("Sonora", "95370", ""), ("Jamestown", "95327", ""))),
    # NORTH-BAY
    "Marin": CountyGeo(262, "415 628", (
        ("San Rafael", "94901 94903", ""), ("Novato", "94945 94947", ""),
        ("Mill Valley", "94941", ""), ("Sausalito", "94965", ""),
    )),
    "Napa": CountyGeo(138, "707", (
        ("Napa", "94558 94559", ""), ("American Canyon", "94503", ""), ("St. Helena", "94574", ""),
        ("Calistoga", "94515", ""),
    )),
    "Lake": CountyGeo(68, "707", (("Lakeport", "95453", ""), ("Clearlake", "95422", ""))),
    "Mendocino": CountyGeo(91, "707", (
        ("Ukiah", "95482", ""), ("Fort Bragg", "95437", ""), ("Willits", "95490", ""),
    )),
    "Solano": CountyGeo(453, "707", (
        ("Vallejo", "94589 94590 94591", ""), ("Fairfield", "94533 94534", ""),
        ("Vacaville", "95687 95688", ""), ("Benicia", "94510", ""), ("Dixon", "95620", ""),
        ("Suisun City", "94585", ""),
    )),
    "Sonoma": CountyGeo(488, "707", (
        ("Santa Rosa", "95401 95403 95404 95407", ""), ("Petaluma", "94952 94954", ""),
        ("Rohnert Park", "94928", ""), ("Windsor", "95492", ""), ("Healdsburg", "95448", ""),
        ("Sonoma", "95476", ""),
    )),
    # NORTEC
    "Butte": CountyGeo(212, "530", (
        ("Chico", "95926 95928 95973", ""), ("Oroville", "95965 95966", ""),
        ("Paradise", "95969", ""), ("Gridley", "95948", ""),
    )),
    "Del Norte": CountyGeo(28, "707", (("Crescent City", "95531", ""),)),
    "Lassen": CountyGeo(33, "530", (("Susanville", "96130", ""),)),
    "Modoc": CountyGeo(9, "530", (("Alturas", "96101", ""),)),
    "Nevada": CountyGeo(103, "530", (
        ("Grass Valley", "95945 95949", ""), ("Nevada City", "95959", ""), ("Truckee", "96161", ""),
    )),
    "Plumas": CountyGeo(20, "530", (("Quincy", "95971", ""), ("Portola", "96122", ""))),
    "Shasta": CountyGeo(182, "530", (
        ("Redding", "96001 96002 96003", ""), ("Anderson", "96007", ""), ("Shasta Lake", "96019", ""),
    )),
    "Sierra": CountyGeo(3, "530", (("Downieville", "95936", ""), ("Loyalton", "96118", ""))),
    "Siskiyou": CountyGeo(44, "530", (
        ("Yreka", "96097", ""), ("Mount Shasta", "96067", ""), ("Weed", "96094", ""),
    )),
    "Tehama": CountyGeo(65, "530", (("Red Bluff", "96080", ""), ("Corning", "96021", ""))),
    "Trinity": CountyGeo(16, "530", (("Weaverville", "96093", ""),)),
    # ORANGE
    "Orange": CountyGeo(3186, "714 657 949", (
        ("Anaheim", "92801 92805 92806 92807", "714 657"),
        ("Santa Ana", "92701 92703 92704 92705 92707", "714 657"),
        ("Irvine", "92602 92606 92614 92618", "949"), ("Huntington Beach", "92647 92648 92649", "714 657"),
        ("Garden Grove", "92840 92841 92843", "714 657"), ("Orange", "92865 92867 92868", "714 657"),
        ("Fullerton", "92831 92832 92833", "714 657"), ("Costa Mesa", "92626 92627", "714 949"),
        ("Tustin", "92780", "714 657"), ("Mission Viejo", "92691 92692", "949"),
        ("Buena Park", "90620 90621", "714 657"), ("Lake Forest", "92630", "949"),
        ("Westminster", "92683", "714 657"), ("Brea", "92821", "714 657"),
        ("Newport Beach", "92660 92663", "949"), ("Fountain Valley", "92708", "714 657"),
        ("Yorba Linda", "92886", "714 657"),
    )),
    # SAN-JOAQUIN
    "Fresno": CountyGeo(1008, "559", (
        ("Fresno", "93701 93702 93703 93706 93710 93721 93722 93725 93727", ""),
        ("Clovis", "93611 93612 93619", ""), ("Sanger", "93657", ""), ("Reedley", "93654", ""),
        ("Selma", "93662", ""), ("Kerman", "93630", ""), ("Coalinga", "93210", ""),
        ("Fowler", "93625", ""), ("Firebaugh", "93622", ""),
    )),
    "Kern": CountyGeo(909, "661", (
        ("Bakersfield", "93301 93304 93305 93307 93308 93309 93311 93312 93313", ""),
        ("Delano", "93215", ""), ("Shafter", "93263", ""), ("Wasco", "93280", ""), ("Arvin", "93203", ""),
        ("Tehachapi", "93561", ""), ("Ridgecrest", "93555", "760 442"), ("McFarland", "93250", ""),
        ("Lamont", "93241", ""),
    )),
    "Inyo": CountyGeo(19, "760 442", (
        ("Bishop", "93514", ""), ("Independence", "93526", ""), ("Lone Pine", "93545", ""),
    )),
    "Mono": CountyGeo(13, "760 442", (("Bridgeport", "93517", ""), ("Mammoth Lakes", "93546", ""))),
    "Kings": CountyGeo(153, "559", (
        ("Hanford", "93230", ""), ("Lemoore", "93245", ""), ("Corcoran", "93212", ""),
        ("Avenal", "93204", ""),
    )),
    "Madera": CountyGeo(157, "559", (
        ("Madera", "93637 93638", ""), ("Chowchilla", "93610", ""), ("Oakhurst", "93644", ""),
    )),
    "Merced": CountyGeo(281, "209", (
        ("Merced", "95340 95341 95348", ""), ("Los Banos", "93635", ""), ("Atwater", "95301", ""),
        ("Livingston", "95334", ""),
    )),
    "San Joaquin": CountyGeo(779, "209", (
        ("Stockton", "95202 95203 95204 95205 95206 95207 95210 95215", ""),
        ("Tracy", "95304 95376 95377", ""), ("Lodi", "95240 95242", ""), ("Manteca", "95336 95337", ""),
        ("Lathrop", "95330", ""), ("Ripon", "95366", ""),
    )),
    "Stanislaus": CountyGeo(552, "209", (
        ("Modesto", "95350 95351 95354 95355 95356 95358", ""), ("Turlock", "95380 95382", ""),
        ("Ceres", "95307", ""), ("Oakdale", "95361", ""), ("Riverbank", "95367", ""),
        ("Patterson", "95363", ""),
    )),
    "Tulare": CountyGeo(473, "559", (
        ("Visalia", "93277 93291 93292", ""), ("Tulare", "93274", ""), ("Porterville", "93257", ""),
        ("Dinuba", "93618", ""), ("Exeter", "93221", ""), ("Lindsay", "93247", ""),
    )),
    # SOUTHERN-BORDER
    "San Diego": CountyGeo(3299, "619 858 760 442", (
        ("San Diego", "92101 92108 92110 92111 92113 92121 92123 92126 92154", "619 858"),
        ("Chula Vista", "91910 91911 91913 91914", "619"), ("Oceanside", "92054 92056 92057", "760 442"),
        ("Escondido", "92025 92026 92027 92029", "760 442"), ("Carlsbad", "92008 92010 92011", "760 442"),
        ("El Cajon", "92019 92020 92021", "619"), ("Vista", "92081 92083 92084", "760 442"),
        ("San Marcos", "92069 92078", "760 442"), ("Santee", "92071", "619"),
        ("National City", "91950", "619"), ("La Mesa", "91941 91942", "619"), ("Poway", "92064", "858"),
    )),
    "Imperial": CountyGeo(180, "760 442", (
        ("El Centro", "92243", ""), ("Calexico", "92231", ""), ("Brawley", "92227", ""),
        ("Imperial", "92251", ""), ("Holtville", "92250", ""),
    )),
    # VENTURA
    "Ventura": CountyGeo(843, "805", (
        ("Oxnard", "93030 93033 93036", ""), ("Thousand Oaks", "91320 91360 91362", ""),
        ("Simi Valley", "93063 93065", ""), ("Ventura", "93001 93003 93004", ""),
        ("Camarillo", "93010 93012", ""), ("Moorpark", "93021", ""), ("Santa Paula", "93060", ""),
        ("Port Hueneme", "93041", ""), ("Fillmore", "93015", ""), ("Ojai", "93023", ""),
    )),
}

# --------------------------------------------------------------------------------------------
# Demo regions: partner organizations and named staff
# --------------------------------------------------------------------------------------------

# Organization entries are (name, website or "").
OrgRow = tuple[str, str]


class DemoRegionSpec(NamedTuple):
    ajcc: OrgRow
    colleges: tuple[OrgRow, OrgRow]
    adult_education: OrgRow
    k12: OrgRow
    lea: OrgRow
    cbos: tuple[OrgRow, OrgRow]
    probation: OrgRow
    corrections: OrgRow
    economic_development: OrgRow
    chamber: OrgRow
    labor: OrgRow
    state_agency: OrgRow
    other: OrgRow
    lead: str
    spocs: tuple[str, str, str]


DEMO_REGIONS: dict[str, DemoRegionSpec] = {
    "LA-BASIN": DemoRegionSpec(
        ajcc=("America's Job Center of California - Boyle Heights", ""),
        colleges=(("Los Angeles Trade-Technical College", "https://www.lattc.edu"),
                  ("East Los Angeles College", "https://www.elac.edu")),
        adult_education=("Los Angeles Regional Adult Education Consortium", ""),
        k12=("Los Angeles Unified School District", "https://www.lausd.org"),
        lea=("Los Angeles County Office of Education", "https://www.lacoe.edu"),
        cbos=(("Eastside Career Pathways Collaborative", ""), ("South LA Second Chance Alliance", "")),
        probation=("Los Angeles County Probation Department", ""),
        corrections=("CDCR Parole Office - Los Angeles Metro", ""),
        economic_development=("Los Angeles County Economic Development Corporation", ""),
        chamber=("Los Angeles Area Chamber of Commerce", ""),
        labor=("Los Angeles County Federation of Labor", ""),
        state_agency=("EDD Workforce Services - Los Angeles", ""),
        other=("Los Angeles Public Library - Career Online", ""),
        lead="Marisol Gutierrez",
        spocs=("Darnell Washington", "Grace Kim", "Arturo Mendoza"),
    ),
    "BAY-PENINSULA": DemoRegionSpec(
        ajcc=("America's Job Center of California - San Jose", ""),
        colleges=(("City College of San Francisco", "https://www.ccsf.edu"),
                  ("De Anza College", "https://www.deanza.edu")),
        adult_education=("South Bay Consortium for Adult Education", ""),
        k12=("San Jose Unified School District", ""),
        lea=("Santa Clara County Office of Education", ""),
        cbos=(("Bayview Career Bridge", ""), ("Silicon Valley Reentry Network", "")),
        probation=("Santa Clara County Probation Department", ""),
        corrections=("CDCR Parole Office - San Jose", ""),
        economic_development=("San Mateo County Economic Development Association", ""),
        chamber=("San Francisco Chamber of Commerce", ""),
        labor=("South Bay Labor Council", ""),
        state_agency=("EDD Workforce Services - San Jose", ""),
        other=("San Jose Public Library - Career Services", ""),
        lead="Anjali Mehta",
        spocs=("Kevin Tran", "Sofia Ramirez", "Michael O'Brien"),
    ),
    "SAN-JOAQUIN": DemoRegionSpec(
        ajcc=("America's Job Center of California - Fresno", ""),
        colleges=(("Fresno City College", "https://www.fresnocitycollege.edu"),
                  ("Bakersfield College", "https://www.bakersfieldcollege.edu")),
        adult_education=("State Center Adult Education Consortium", ""),
        k12=("Fresno Unified School District", ""),
        lea=("Fresno County Superintendent of Schools", ""),
        cbos=(("Valley Farmworker Opportunity Center", ""), ("Central Valley Fresh Start Network", "")),
        probation=("Fresno County Probation Department", ""),
        corrections=("CDCR Parole Office - Fresno", ""),
        economic_development=("Fresno County Economic Development Corporation", ""),
        chamber=("Fresno Chamber of Commerce", ""),
        labor=("Fresno-Madera-Tulare-Kings Central Labor Council", ""),
        state_agency=("EDD Workforce Services - Fresno", ""),
        other=("Fresno County Public Library - Job Lab", ""),
        lead="Gurpreet Sandhu",
        spocs=("Elena Alvarez", "Tou Vang", "Jake Medeiros"),
    ),
    "INLAND-EMPIRE": DemoRegionSpec(
        ajcc=("America's Job Center of California - San Bernardino", ""),
        colleges=(("Riverside City College", "https://www.rcc.edu"),
                  ("San Bernardino Valley College", "https://www.valleycollege.edu")),
        adult_education=("Inland Adult Education Consortium", ""),
        k12=("San Bernardino City Unified School District", ""),
        lea=("Riverside County Office of Education", ""),
        cbos=(("Inland Youth Pathways", ""), ("High Desert Reentry Coalition", "")),
        probation=("San Bernardino County Probation Department", ""),
        corrections=("CDCR Parole Office - Riverside", ""),
        economic_development=("Inland Empire Economic Partnership", ""),
        chamber=("Greater Riverside Chambers of Commerce", ""),
        labor=("San Bernardino and Riverside Counties Central Labor Council", ""),
        state_agency=("EDD Workforce Services - San Bernardino", ""),
        other=("San Bernardino County Library - Workforce Corner", ""),
        lead="Tanisha Brooks",
        spocs=("Luis Hernandez", "Hye-jin Park", "Brandon Nguyen"),
    ),
}

DEMO_ADMIN_NAME = "Renee Takahashi"
DEMO_CHAIR_NAME = "Robert Castellanos"

# Job titles of partner staff, by organization kind.
PARTNER_TITLES: dict[str, str] = {
    "workforce_board": "Business Services Manager",
    "ajcc": "Business Services Representative",
    "community_college": "Dean of Workforce and Economic Development",
    "adult_education": "Transition Specialist",
    "k12": "Career Technical Education Coordinator",
    "lea": "Work-Based Learning Coordinator",
    "cbo": "Employment Specialist",
    "probation": "Reentry Services Supervisor",
    "corrections": "Parole Agent - Employment Liaison",
    "economic_development": "Business Retention Manager",
    "chamber": "Director of Member Engagement",
    "labor": "Workforce Program Director",
    "state_agency": "Employment Program Manager",
    "other": "Career Services Librarian",
}


# What each kind of demo organization offers in its region's services crosswalk (seeds/services.csv codes).
SERVICES_BY_KIND: dict[str, tuple[str, ...]] = {
    "workforce_board": ("business_services", "career_counseling", "job_placement", "training",
                        "incumbent_worker_training", "layoff_aversion", "labor_market_information"),
    "ajcc": ("career_counseling", "job_placement", "supportive_services", "training", "youth_services"),
    "community_college": ("training", "apprenticeship", "work_based_learning", "customized_training",
                          "career_counseling"),
    "adult_education": ("adult_basic_education", "career_counseling", "training"),
    "k12": ("youth_services", "work_based_learning", "career_counseling"),
    "lea": ("youth_services", "work_based_learning"),
    "cbo": ("supportive_services", "reentry", "career_counseling", "job_placement"),
    "probation": ("reentry", "supportive_services"),
    "corrections": ("reentry", "training"),
    "economic_development": ("business_services", "layoff_aversion", "labor_market_information"),
    "chamber": ("business_services",),
    "labor": ("apprenticeship", "training"),
    "state_agency": ("labor_market_information", "layoff_aversion", "business_services"),
}
