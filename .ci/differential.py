#!/usr/bin/env python3
"""Cases for the differential test of dlp's identifier checks against python-stdnum (and, for
phone numbers, the phonenumbers port of libphonenumber).

Writes JSON lines `{"check": ..., "value": ..., "valid": ..., "source": ...}` to the file named on
the command line. Each value is labelled by the reference library itself (`is_valid`), never by
this script: valid numbers are random bodies completed by brute force over their check
positions until stdnum accepts them, invalid ones are valid numbers with one character changed
and random strings of the right shape. Some values are written in the module's `format`, as
they appear in text. The seed is fixed (override with DLP_DIFFERENTIAL_SEED) so that a failure
can be reproduced.

Usage: differential.py OUT.jsonl [PER_KIND]    (PER_KIND valid and invalid cases per check,
default 200)
"""

import importlib
import itertools
import json
import os
import random
import sys

DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALNUM = DIGITS + LETTERS

rng = random.Random(int(os.environ.get("DLP_DIFFERENTIAL_SEED", "20240601")))


def fill(template):
    """A random string from a template: D digit, L letter, A letter or digit, anything else
    as written; `{a|b|c}` picks one alternative."""
    out = []
    i = 0
    while i < len(template):
        ch = template[i]
        if ch == "{":
            end = template.index("}", i)
            out.append(rng.choice(template[i + 1:end].split("|")))
            i = end + 1
            continue
        out.append({"D": lambda: rng.choice(DIGITS), "L": lambda: rng.choice(LETTERS),
                    "A": lambda: rng.choice(ALNUM)}.get(ch, lambda: ch)())
        i += 1
    return "".join(out)


def date(fmt, start=1920, end=2023):
    """A random real date as `fmt` (strftime codes)."""
    import datetime
    first = datetime.date(start, 1, 1).toordinal()
    last = datetime.date(end, 12, 28).toordinal()
    return datetime.date.fromordinal(rng.randint(first, last)).strftime(fmt)


class Spec:
    """How to make numbers for one check: a random body, the positions to complete, and the
    alphabet of each."""

    def __init__(self, check, module, body, positions=(-1,), alphabet=DIGITS, lookups=False,
                 prefix="", options=None, authority=None):
        self.check = check
        self.module_name = module
        self.module = importlib.import_module("stdnum." + module)
        self.body = body
        self.positions = positions
        self.alphabet = alphabet
        # Modules that consult tables (place codes, areas): random shapes test the table rather
        # than dlp's rules, so invalid cases are made by mutation only.
        self.lookups = lookups
        self.prefix = prefix
        # Keyword arguments of the module's `validate` (checks it leaves off by default).
        self.options = options or {}
        # Where the issuing authority's published rule differs from the module's: a function of
        # the value and the module's verdict giving (verdict, source) when they differ.
        self.authority = authority

    def is_valid(self, value):
        try:
            self.module.validate(value, **self.options)
            return True
        except Exception:  # invalid, or a module bug on odd input
            return False

    def label(self, value):
        """(valid, source) of `value`."""
        ok = self.is_valid(value)
        if self.authority is not None:
            verdict = self.authority(value, ok)
            if verdict is not None:
                return verdict
        return ok, "stdnum." + self.module_name

    def complete(self, body):
        """`body` with its check positions set so that stdnum accepts it, or None."""
        chars = list(body)
        positions = [p % len(chars) for p in self.positions]
        alphabets = [self.alphabet] * len(positions)
        options = list(itertools.product(*alphabets))
        rng.shuffle(options)
        for combo in options[:2000]:
            for p, c in zip(positions, combo):
                chars[p] = c
            value = self.prefix + "".join(chars)
            if self.is_valid(value):
                return value
        return None

    def formatted(self, value):
        fmt = getattr(self.module, "format", None)
        if fmt is None or rng.random() < 0.5:
            return value
        try:
            return fmt(value)
        except Exception:
            return value

    def mutate(self, value):
        """`value` with one letter or digit after the prefix replaced by another of its kind."""
        spots = [i for i, c in enumerate(value) if c.isalnum() and i >= len(self.prefix)]
        i = rng.choice(spots)
        pool = DIGITS if value[i].isdigit() else LETTERS
        c = rng.choice([x for x in pool if x != value[i]])
        return value[:i] + c + value[i + 1:]

    def cases(self, per_kind):
        valid, invalid = [], []
        seen = set()

        def add(value):
            if value in seen:
                return
            seen.add(value)
            ok, source = self.label(value)
            case = {"check": self.check, "value": value, "valid": ok, "source": source}
            (valid if ok else invalid).append(case)

        tries = 0
        while (len(valid) < per_kind or len(invalid) < per_kind) and tries < per_kind * 200:
            tries += 1
            body = self.body() if callable(self.body) else fill(self.body)
            if len(valid) < per_kind or rng.random() < 0.3:
                value = self.complete(body)
                if value is not None:
                    add(self.formatted(value))
                    if len(invalid) < per_kind:
                        add(self.formatted(self.mutate(value)))
                    continue
            if len(invalid) < per_kind and not self.lookups:
                add(self.prefix + body)
        if len(valid) < per_kind or len(invalid) < per_kind:
            sys.exit(f"{self.check} {self.prefix}: only {len(valid)} valid and {len(invalid)} invalid cases")
        return valid[:per_kind] + invalid[:per_kind]


def nir_body():
    dept = rng.choice(["75", "13", "2A", "2B", "99", "59", "01"])
    return fill("{1|2}") + date("%y%m") + dept + fill("DDDDDDDD")


def pesel_body():
    d = date("%y%m%d", 1900, 2023)
    year = int("19" + d[:2]) if rng.random() < 0.5 else None
    month = int(d[2:4])
    if year is None:
        d = date("%y%m%d", 2000, 2023)
        month += 20
    return d[:2] + f"{month:02d}" + d[4:] + fill("DDDDD")


def be_nn_body():
    return date("%y%m%d", 1920, 2023) + fill("DDDDD")


def cz_rc_body():
    d = date("%y%m%d", 1954, 2023)
    month = int(d[2:4]) + rng.choice([0, 50])
    return d[:2] + f"{month:02d}" + d[4:] + fill("DDDD")


def curp_body():
    d = date("%y%m%d", 1930, 2022)
    century = fill("D") if d < "30" or rng.random() < 0.5 else fill("L")
    state = rng.choice(["DF", "JC", "NL", "MC", "NE", "VZ"])
    return fill("LLLL") + d + fill("{H|M}") + state + fill("LLL") + century + "0"


def rfc_body():
    letters = fill("LLLL") if rng.random() < 0.5 else fill("LLL")
    return letters + date("%y%m%d", 1950, 2022) + fill("AAD")


def fiscal_code_body():
    month = rng.choice("ABCDEHLMPRST")
    day = rng.randint(1, 28) + rng.choice([0, 40])
    return fill("LLLLLLDD") + month + f"{day:02d}" + fill("LDDD") + "A"


def hetu_body():
    d = date("%d%m%y", 1920, 1999)
    return d + "-" + fill("{1|2|3|4|5|6|7|8}DD") + "0"


def fodselsnummer_body():
    d = date("%d%m%y", 1940, 1999)
    return d + fill("{0|1|2|3|4}DD") + "00"


def personnummer_body():
    return date("%y%m%d", 1930, 2020) + "-" + fill("DDDD")


def date_body(fmt, tail, start=1930, end=2020):
    return lambda: date(fmt, start, end) + fill(tail)


def cn_body():
    area = rng.choice(["110101", "310104", "440305", "510107", "330106", "420102"])
    return area + date("%Y%m%d", 1940, 2020) + fill("DDD") + "0"


def kr_body():
    d = date("%y%m%d", 1950, 2019)
    return d + fill("{1|2}") + fill("{0|1|2|3|4|5|6|7|8}DDDDD")


def my_body():
    place = rng.choice(["01", "10", "14", "08", "71", "60"])
    return date("%y%m%d", 1950, 2010) + place + fill("DDDD")


def ro_body():
    d = date("%y%m%d", 1920, 1999)
    county = rng.choice(["01", "12", "40", "41", "46", "52"])
    return fill("{1|2}") + d + county + fill("DDD") + "0"


def za_body():
    return date("%y%m%d", 1930, 2010) + fill("DDDD{0|1}D") + "0"


def amka_body():
    return date("%d%m%y", 1930, 2010) + fill("DDDDD")


def dk_body():
    return date("%d%m%y", 1937, 1999) + fill("{0|1|2|3}DDD")


def at_body():
    return fill("{1|2|3|4|5|6|7|8|9}DD0") + date("%d%m%y", 1930, 2020)


def itin_authority(value, ok):
    """The IRS assigns ITIN groups 50-65 too (since 2011); python-stdnum predates that."""
    digits = value.replace("-", "")
    if not ok and len(digits) == 9 and digits.isdigit() and digits[0] == "9" and 50 <= int(digits[3:5]) <= 65:
        return True, "IRS ITIN rules (groups 50-65, 70-88, 90-92, 94-99)"
    return None


def rc_authority(value, ok):
    """Czech birth numbers add 50 (women) and, from 2004, 20 to the month (law 133/2000 Sb.);
    python-stdnum also decodes months 33-50 and 83-99, which are never issued."""
    digits = value.replace("/", "").replace(" ", "")
    if ok and len(digits) >= 4 and digits[2:4].isdigit():
        month = int(digits[2:4])
        if not any(lo <= month <= lo + 11 for lo in (1, 21, 51, 71)):
            return False, "Czech law 133/2000 Sb. (month + 20, + 50, + 70)"
    return None


def rrn_authority(value, ok):
    """Korean numbers issued from October 2020 end in random digits (no check digit), so a
    birth date from then on is checked without it; a birth date in the future is never issued.
    python-stdnum checks every number's last digit and accepts future dates."""
    import datetime
    digits = value.replace("-", "")
    if len(digits) != 13 or not digits.isdigit():
        return None
    century = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000,
               "8": 2000, "9": 1800, "0": 1800}[digits[6]]
    try:
        born = datetime.date(century + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return None
    source = "Korean RRN rules (random serial from 2020-10; no future birth dates)"
    if born > datetime.date.today():
        return (False, source) if ok else None
    if not ok and born >= datetime.date(2020, 10, 1) and int(digits[7:9]) <= 96:
        return True, source
    return None


NATIONAL = [
    Spec("us_itin", "us.itin", "9DD{5|6|7|8}DDDDD", positions=(), authority=itin_authority),
    Spec("us_ein", "us.ein", "DDDDDDDDD", positions=()),
    Spec("uk_utr", "gb.utr", "DDDDDDDDDD", positions=(0,)),
    Spec("ca_sin", "ca.sin", "{1|2|3|4|5|6|7|9}DDDDDDDD"),
    Spec("ca_business_number", "ca.bn", lambda: fill("DDDDDDDDD") + rng.choice(["", "", "RT0001", "RP0002", "RC0001"]), positions=(8,)),
    Spec("au_tfn", "au.tfn", lambda: fill("DDDDDDDD" if rng.random() < 0.3 else "DDDDDDDDD")),
    Spec("au_abn", "au.abn", "{1|2|3|4|5|6|7|8|9}DDDDDDDDDD", positions=(0, 1)),
    Spec("au_acn", "au.acn", "DDDDDDDDD"),
    Spec("nz_ird", "nz.ird", lambda: fill("{1|2|3|4|5|6|7|8|9}DDDDDDD" if rng.random() < 0.5 else "{0|1}DDDDDDDD")),
    Spec("in_aadhaar", "in_.aadhaar", "{2|3|4|5|6|7|8|9}DDDDDDDDDDD"),
    Spec("in_pan", "in_.pan", "LLL{A|B|C|F|G|H|L|J|P|T|K|X}LDDDDL", positions=()),
    Spec("in_gstin", "in_.gstin", "{27|29|07|33|19|36}LLL{C|P|F|H}LDDDDL{1|2}Z0", alphabet=ALNUM),
    Spec("es_dni", "es.dni", "DDDDDDDD0", alphabet=LETTERS),
    Spec("es_nie", "es.nie", "{X|Y|Z}DDDDDDD0", alphabet=LETTERS),
    Spec("fr_nir", "fr.nir", nir_body, positions=(-2, -1)),
    Spec("fr_nif", "fr.nif", "{0|1|2|3}DDDDDDDDD000", positions=(-3, -2, -1)),
    Spec("fr_siren", "fr.siren", "DDDDDDDDD"),
    Spec("fr_siret", "fr.siret", "DDDDDDDDDDDDDD", positions=(8, -1)),
    Spec("de_tax_id", "de.idnr", lambda: "".join(rng.sample("123456789", 1)) + "".join(rng.sample(DIGITS, 9)) + "0"),
    Spec("it_fiscal_code", "it.codicefiscale", fiscal_code_body, alphabet=LETTERS),
    Spec("nl_bsn", "nl.bsn", "DDDDDDDDD"),
    Spec("be_national_number", "be.nn", be_nn_body, positions=(-2, -1)),
    Spec("pl_pesel", "pl.pesel", pesel_body),
    Spec("pl_nip", "pl.nip", "DDDDDDDDDD"),
    Spec("se_personnummer", "se.personnummer", personnummer_body),
    Spec("no_fodselsnummer", "no.fodselsnummer", fodselsnummer_body, positions=(-2, -1)),
    Spec("dk_cpr", "dk.cpr", dk_body, positions=()),
    Spec("fi_hetu", "fi.hetu", hetu_body, alphabet="0123456789ABCDEFHJKLMNPRSTUVWXY"),
    Spec("pt_nif", "pt.nif", "{1|2|3|5|6|8|9}DDDDDDDD"),
    Spec("ie_ppsn", "ie.pps", lambda: fill("DDDDDDD0") + rng.choice(["", "", "A", "H", "W"]), positions=(7,), alphabet=LETTERS),
    Spec("at_svnr", "at.vnr", at_body, positions=(3,)),
    Spec("ch_ahv", "ch.ssn", "756DDDDDDDDDD"),
    Spec("cz_birth_number", "cz.rc", cz_rc_body, authority=rc_authority),
    Spec("ro_cnp", "ro.cnp", ro_body, lookups=True),
    Spec("hr_oib", "hr.oib", "DDDDDDDDDDD"),
    Spec("gr_amka", "gr.amka", amka_body),
    Spec("br_cpf", "br.cpf", "DDDDDDDDDDD", positions=(-2, -1)),
    Spec("br_cnpj", "br.cnpj", "DDDDDDDD0001DD", positions=(-2, -1)),
    Spec("mx_curp", "mx.curp", curp_body, lookups=True),
    # dlp checks the homoclave's check character where there is one, as the SAT defines it.
    Spec("mx_rfc", "mx.rfc", rfc_body, alphabet=DIGITS + "A",
         options={"validate_check_digits": True}),
    Spec("ar_cuit", "ar.cuit", "{20|23|24|27|30|33|34}DDDDDDDDD"),
    Spec("cl_rut", "cl.rut", lambda: fill("DDDDDDDD" if rng.random() < 0.7 else "DDDDDDD") + "0", alphabet=DIGITS + "K"),
    Spec("kr_rrn", "kr.rrn", kr_body, lookups=True, authority=rrn_authority),
    Spec("jp_my_number", "jp.in_", "DDDDDDDDDDDD"),
    Spec("cn_resident_id", "cn.ric", cn_body, alphabet=DIGITS + "X", lookups=True),
    Spec("my_mykad", "my.nric", my_body, positions=(), lookups=True),
    Spec("th_national_id", "th.pin", "{1|2|3|4|5|6|7|8}DDDDDDDDDDDD"),
    Spec("il_id", "il.idnr", "DDDDDDDDD"),
    Spec("tr_tckn", "tr.tckimlik", "{1|2|3|4|5|6|7|8|9}DDDDDDDDDD", positions=(-2, -1)),
    Spec("za_id", "za.idnr", za_body),
]

# VAT numbers per member state (and GB, XI): the body after the country code, and where its
# check characters are.
VAT = [
    ("AT", "UDDDDDDDD", (-1,), DIGITS),
    ("BE", "{0|1}DDDDDDDDD", (-2, -1), DIGITS),
    ("BG", "DDDDDDDDD", (-1,), DIGITS),
    ("BG", "DDDDDDDDDD", (-1,), DIGITS),
    ("CY", "{0|1|3|4|5|9}DDDDDDDL", (-1,), LETTERS),
    ("CZ", "{0|1|2|3|4|5|6|7|8}DDDDDDD", (-1,), DIGITS),
    ("CZ", "6DDDDDDDD", (-1,), DIGITS),
    ("CZ", cz_rc_body, (-1,), DIGITS),
    ("DE", "{1|2|3|4|5|6|7|8|9}DDDDDDDD", (-1,), DIGITS),
    ("DK", "{1|2|3|4|5|6|7|8|9}DDDDDDD", (-1,), DIGITS),
    ("EE", "10DDDDDDD", (-1,), DIGITS),
    ("EL", "DDDDDDDDD", (-1,), DIGITS),
    ("ES", "DDDDDDDDL", (-1,), LETTERS),
    ("ES", "{X|Y|Z}DDDDDDDL", (-1,), LETTERS),
    ("ES", "{A|B|C|D|E|F|G|H|J|N|P|Q|R|S|U|V|W}DDDDDDDA", (-1,), ALNUM),
    ("FI", "DDDDDDDD", (-1,), DIGITS),
    ("FR", "DDDDDDDDDDD", (0, 1), DIGITS),
    ("FR", "DDDDDDDDDDD", (0, 1), "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"),
    ("GB", "DDDDDDDDD", (-2, -1), DIGITS),
    ("GB", "DDDDDDDDD{001|002|123}", (7, 8), DIGITS),
    ("GB", "{GD|HA}DDD", (), DIGITS),
    ("XI", "DDDDDDDDD", (-2, -1), DIGITS),
    ("HR", "DDDDDDDDDDD", (-1,), DIGITS),
    ("HU", "DDDDDDDD", (-1,), DIGITS),
    ("IE", "DDDDDDDL", (-1,), LETTERS),
    ("IE", "DDDDDDDL{A|H|W}", (7,), LETTERS),
    ("IE", "D{A|B|C|+|*}DDDDDL", (-1,), LETTERS),
    ("IT", "DDDDDDD{001|012|045|099|100|120|888}D", (-1,), DIGITS),
    ("LT", "DDDDDDD1D", (-1,), DIGITS),
    ("LT", "DDDDDDDDDD1D", (-1,), DIGITS),
    ("LU", "DDDDDDDD", (-2, -1), DIGITS),
    ("LV", "{4|5|9}DDDDDDDDDD", (-1,), DIGITS),
    ("LV", lambda: date("%d%m%y", 1930, 1999) + "1" + fill("DDDD"), (-1,), DIGITS),
    ("MT", "{1|2|3|4|5|6|7|8|9}DDDDDDD", (-2, -1), DIGITS),
    ("NL", "DDDDDDDDDBDD", (8,), DIGITS),
    ("NL", "DDDDDDDDDBDD", (-2, -1), DIGITS),
    ("PL", "DDDDDDDDDD", (-1,), DIGITS),
    ("PT", "{1|2|5|6|9}DDDDDDDD", (-1,), DIGITS),
    ("RO", lambda: fill("{1|2|3|4|5|6|7|8|9}" + "D" * rng.randint(1, 9)), (-1,), DIGITS),
    ("SE", "DDDDDDDDDD01", (9,), DIGITS),
    ("SI", "{1|2|3|4|5|6|7|8|9}DDDDDDD", (-1,), DIGITS),
    ("SK", "{1|2|3|4|5|6|7|8|9}D{2|3|4|7|8|9}DDDDDDD", (-1,), DIGITS),
]


def vat_cases(per_kind):
    """eu_vat_number: the cases of every country's kinds, with its prefix."""
    out = []
    share = max(per_kind // len(VAT), 8)
    for cc, body, positions, alphabet in VAT:
        # GB left the union: python-stdnum's eu.vat no longer takes it, gb.vat does.
        module = "gb.vat" if cc == "GB" else "eu.vat"
        spec = Spec("eu_vat_number", module, body, positions=positions, alphabet=alphabet, prefix=cc)
        spec.formatted = lambda value: value
        cases = spec.cases(share)
        for case in cases:
            case["source"] = f"stdnum.{module} ({cc})"
        out.extend(cases)
    return out


def phone_cases(per_kind=200):
    """phone_number: E.164 numbers labelled by phonenumbers.is_valid_number: each region's
    example numbers (fixed line, mobile, toll free), random numbers built on them (the last
    digits changed, keeping or breaking validity), and random digit strings after a country
    code. The label is always phonenumbers' own verdict."""
    import phonenumbers
    from phonenumbers import PhoneNumberFormat, PhoneNumberType

    rng = random.Random(int(os.environ.get("DLP_DIFFERENTIAL_SEED", "1")) + 7919)
    kinds = [PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE]
    examples = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in kinds:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                examples.append(number)
    cases = []
    seen = set()

    def add(number_text):
        if number_text in seen:
            return
        seen.add(number_text)
        try:
            parsed = phonenumbers.parse(number_text, None)
            valid = phonenumbers.is_valid_number(parsed)
        except phonenumbers.NumberParseException:
            valid = False
        cases.append({"check": "phone_number", "value": number_text, "valid": valid,
                      "source": "phonenumbers.is_valid_number"})

    for number in examples:
        add(phonenumbers.format_number(number, PhoneNumberFormat.E164))
    target = 2 * per_kind + len(examples)
    tries = 0
    while len(cases) < target and tries < 50 * target:
        tries += 1
        base = rng.choice(examples)
        e164 = phonenumbers.format_number(base, PhoneNumberFormat.E164)
        digits = list(e164[1:])
        cc = str(base.country_code)
        body = digits[len(cc):]
        mode = rng.randrange(3)
        if mode == 0 and body:
            for _ in range(min(3, len(body))):
                i = rng.randrange(len(body))
                body[i] = str(rng.randrange(10))
        elif mode == 1 and len(body) > 4:
            body = body[:-1] if rng.random() < 0.5 else body + [str(rng.randrange(10))]
        else:
            body = [str(rng.randrange(10)) for _ in range(len(body))]
        add("+" + cc + "".join(body))
    return cases


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    per_kind = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    cases = []
    for spec in NATIONAL:
        cases.extend(spec.cases(per_kind))
    cases.extend(vat_cases(per_kind))
    cases.extend(phone_cases(per_kind))
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        for case in cases:
            out.write(json.dumps(case, ensure_ascii=False) + "\n")
    counts = {}
    for case in cases:
        ok, bad = counts.get(case["check"], (0, 0))
        counts[case["check"]] = (ok + case["valid"], bad + (not case["valid"]))
    for check, (ok, bad) in sorted(counts.items()):
        print(f"{check:24} {ok:5} valid {bad:5} invalid")
    print(f"{len(cases)} cases in {sys.argv[1]}")


if __name__ == "__main__":
    main()
