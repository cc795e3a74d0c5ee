"""Word lists the matcher relies on. Each list says where it comes from.

They are small on purpose: a word belongs here only if it changes what a name
*means* for matching (a legal form says nothing about which company it is; a
country name says where, not who). Nothing here names a particular company.
"""

from __future__ import annotations

# Legal-form designators, as tokens after normalize_name (so "L.L.C." is "llc").
# Source: a curated subset of the abbreviations in ISO 20275 "Entity Legal Forms"
# (the GLEIF ELF code list) and of cleanco 2.3's termdata.py (MIT), keeping only
# terms that are not also ordinary words or common initialisms in US business
# names (cleanco's "pt", "da", "et", "private", "unlimited" are left out), plus
# US state filing usage (pllc, lllp, pa, "professional corporation").
LEGAL_FORMS: frozenset[str] = frozenset(
    """
    inc incorporated corp corporation co company cos companies llc lc ltd limited lp llp lllp
    plc pc pllc pa ltda
    gmbh mbh ag kg kgaa ohg ug se sa sas sasu sarl sca scs snc nv bv bvba vof cv srl spa sapa scarl
    kk oy oyj ab as asa aps hf pty bhd sdn pte pvt kft zrt nyrt sro zoo ooo oao zao pjsc jsc ojsc
    aktiengesellschaft vennootschap naamloze naamlooze besloten
    """.split()
)

# Multi-word legal forms, matched as token sequences at the end of a name.
LEGAL_PHRASES: tuple[tuple[str, ...], ...] = (
    ("limited", "liability", "company"),
    ("limited", "liability", "partnership"),
    ("limited", "partnership"),
    ("professional", "corporation"),
    ("public", "limited", "company"),
    ("naamloze", "vennootschap"),
    ("naamlooze", "vennootschap"),
    ("besloten", "vennootschap"),
    ("anonim", "sirketi"),
    ("kg", "auf", "aktien"),
    ("societe", "anonyme"),
    ("sp", "z", "oo"),
)

# Legal forms that also start names in their home jurisdictions ("N.V. Nutricia",
# "AB SKF", "OOO Gazprom"). Only these are stripped at the front: "Co-op" or "SA
# Recycling" keep their first word.
LEADING_LEGAL_FORMS: frozenset[str] = frozenset("nv bv ab ooo oao zao pjsc jsc ojsc".split())

# Legal forms that end the legal name even in the middle of a string: what
# follows ("N.V., Eindhoven", "Corp. - Downtown site") is a place or a site
# qualifier, not part of the company's name. Words that double as ordinary
# words ("co", "company", "ag", "sa", "as", "pa") are not in this set.
CUTTING_LEGAL_FORMS: frozenset[str] = frozenset(
    """
    inc incorporated corp corporation llc ltd plc pllc llp gmbh nv bv bvba srl sarl spa kk oyj
    pty ltda aktiengesellschaft naamloze naamlooze besloten
    """.split()
)

# Function words in the languages of our data; they carry no identity.
STOPWORDS: frozenset[str] = frozenset(
    """
    the of and for at a an in on by to de la le les du des del della di da van der den het te
    y e et und en el los las
    """.split()
)

# Words that qualify but do not identify: "Whirlpool International" and
# "Whirlpool" are one company; "Koninklijke" (royal) is an honorific.
GENERIC_QUALIFIERS: frozenset[str] = frozenset(
    """
    international internationale internationals internacional internationaal internatl intl
    global worldwide koninklijke koninklijk royal maatschappij gesellschaft societe dite firma
    """.split()
)

# Places that may be appended to a name without changing the company:
# continents, countries (English and local forms) and their ISO 3166 codes
# that are not also ordinary words. A place present on only one side is
# neutral; two different places on the two sides are a conflict.
PLACE_WORDS: frozenset[str] = frozenset(
    """
    europe europa european america americas american asia pacific africa
    usa us uk gb nl fr ch dk se fi au nz jp cn kr
    netherlands netherland nederland holland belgium belgie belgique france deutschland germany
    switzerland schweiz suisse italia italy espana spain canada mexico brazil japan china korea
    india australia britain england scotland ireland sweden norway denmark finland austria
    na
    """.split()
)

# Words naming a separate legal vehicle of a group (a holding, an IP or
# finance company). "Acme Holdings" and "Acme IP Assets" are different legal
# employers from "Acme Inc", so a name that adds one of these never matches
# one that lacks it.
VEHICLE_WORDS: frozenset[str] = frozenset(
    """
    holding holdings ip patent patents patentverwaltung intellectual assets finance financing
    capital investments investment leasing realty properties trust pension foundation
    """.split()
)

# Very common words in US employer names: they count for little when two names
# share them ("Bay Area Plumbing Services" vs "Bay Area Electric Services"
# share only common words) and never form a blocking key of their own.
COMMON_WORDS: frozenset[str] = frozenset(
    """
    services service solutions systems system group enterprises enterprise industries industry
    products product associates partners management consulting consultants construction
    center centre centers community family children child care development health healthcare
    medical national american united general home new first city county state school schools
    public association assn society council foundation institute academy church
    technologies technology tech electric electronics energy engineering manufacturing
    marketing media research sales supply store stores shop market restaurant cafe bar grill
    auto insurance realty properties financial bank credit union agency office staffing
    logistics transport transportation trucking farms farm foods food north south east west
    bay area valley mountain river lake park learning education educational program programs day
    """.split()
)

# Free-mail providers: an address there says nothing about the employer.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    """
    gmail.com googlemail.com yahoo.com ymail.com hotmail.com outlook.com live.com msn.com
    aol.com icloud.com me.com mac.com comcast.net att.net sbcglobal.net verizon.net
    cox.net charter.net earthlink.net protonmail.com proton.me gmx.com mail.com zoho.com
    """.split()
)

# USPS street suffixes (Publication 28, appendix C1, common forms) and
# secondary unit designators (appendix C2): a street's identity is its number,
# its name and its pre-direction, not how the suffix or the suite was written.
STREET_SUFFIXES: frozenset[str] = frozenset(
    """
    st street str ave av avenue blvd boulevard rd road dr drive pl place ct court ln lane
    pkwy parkway way ter terrace hwy highway cir circle trl trail sq square plz plaza
    expy expressway fwy freeway aly alley row run loop pike
    """.split()
)
UNIT_WORDS: frozenset[str] = frozenset(
    "suite ste apt apartment unit floor fl room rm bldg building lower level lvl dept no".split()
)
DIRECTIONS: dict[str, str] = {
    "n": "n", "north": "n", "s": "s", "south": "s", "e": "e", "east": "e", "w": "w", "west": "w",
    "ne": "ne", "northeast": "ne", "nw": "nw", "northwest": "nw",
    "se": "se", "southeast": "se", "sw": "sw", "southwest": "sw",
}
US_STATES: frozenset[str] = frozenset(
    """
    al ak az ar ca co ct de dc fl ga hi id il in ia ks ky la me md ma mi mn ms mo mt ne nv nh nj
    nm ny nc nd oh ok or pa ri sc sd tn tx ut vt va wa wv wi wy
    """.split()
)
