"""Reading and validating a document: every check names the place it concerns."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from decimal import (
    Decimal,
)
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from app.billing.tariff.model import (
    _ISO_DATE,
    FORMAT,
    NAME,
    NUMBER,
    PHASES,
    ROUNDING_CODE,
    DigitalRebate,
    LateSurcharge,
    Param,
    PaymentTerms,
    PeriodRule,
    PhaseRate,
    PromptRebate,
    Rate,
    Rounding,
    Step,
    Tariff,
    TariffError,
    Value,
    _fail,
    _join,
    _show,
)
from app.billing.tariff.quote import Bands, Component, Fixed, Minimum, Percent, Slabs, When

# ---------------------------------------------------------------------------------------------
# Reading a document: every check names the place it concerns
# ---------------------------------------------------------------------------------------------


def _keys(raw: Any, path: str, required: Sequence[str] = (), optional: Sequence[str] = ()) -> dict[str, Any]:
    """An object with exactly the allowed keys: a typo must never be silently ignored."""
    if not isinstance(raw, dict):
        _fail(path or "document", "must be an object")
    allowed = (*required, *optional)
    problems = [f"{_join(path, key)}: unknown key (allowed: {', '.join(allowed)})" for key in raw if key not in allowed]
    problems += [f"{_join(path, key)}: required" for key in required if key not in raw]
    if problems:
        raise TariffError(*problems)
    return raw


def _decimal(raw: Any, path: str) -> Decimal:
    if not isinstance(raw, str) or not NUMBER.fullmatch(raw):
        _fail(path, f'not a decimal (write a string like "4.71"): {_show(raw)}')
    return Decimal(raw)


def _non_negative(raw: Any, path: str) -> Decimal:
    number = _decimal(raw, path)
    if number < 0:
        _fail(path, f"must not be negative: {raw}")
    return number


def _positive(raw: Any, path: str) -> Decimal:
    number = _decimal(raw, path)
    if number <= 0:
        _fail(path, f"must be above zero: {raw}")
    return number


def _whole(raw: Any, path: str, minimum: int) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < minimum:
        _fail(path, f"must be a whole number of at least {minimum}: {_show(raw)}")
    return raw


def _text_value(raw: Any, path: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        _fail(path, f"must be a non-empty string: {_show(raw)}")
    return raw


def _name(raw: Any, path: str) -> str:
    if not isinstance(raw, str) or not NAME.fullmatch(raw):
        _fail(path, f"must match [A-Za-z_][A-Za-z0-9_]*: {_show(raw)}")
    return raw


def _choice(raw: Any, path: str, options: Sequence[str]) -> str:
    if not isinstance(raw, str) or raw not in options:
        _fail(path, f"must be one of {', '.join(options)}: {_show(raw)}")
    return raw


def _boolean(raw: Any, path: str) -> bool:
    if not isinstance(raw, bool):
        _fail(path, f"must be true or false: {_show(raw)}")
    return raw


def _date(raw: Any, path: str) -> date:
    if isinstance(raw, str) and _ISO_DATE.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    _fail(path, f"not a date (YYYY-MM-DD): {_show(raw)}")


def _value(raw: Any, path: str) -> Value:
    """A number, or `{"param": NAME}`."""
    if isinstance(raw, dict):
        if set(raw) == set(PHASES):
            _fail(path, "a rate split by phase is only allowed on fixed charges")
        _keys(raw, path, required=("param",))
        return Param(_name(raw["param"], f"{path}.param"))
    return _decimal(raw, path)


def _rate(raw: Any, path: str, phased: bool) -> Rate:
    if phased and isinstance(raw, dict) and "param" not in raw:
        _keys(raw, path, required=PHASES)
        return PhaseRate(_value(raw["single"], f"{path}.single"), _value(raw["three"], f"{path}.three"))
    return _value(raw, path)


def _steps(raw: Any, path: str, kind: str, phased: bool = False) -> tuple[Step, ...]:
    """Slabs or bands: bounds strictly increase and only the last one is open."""
    if not isinstance(raw, list) or not raw:
        _fail(path, f"must be a non-empty list of {kind}s")
    steps = tuple(_step(item, f"{path}[{index}]", phased) for index, item in enumerate(raw))
    last = len(steps) - 1
    if steps[last].upto is not None:
        _fail(f"{path}[{last}].upto", f"the last {kind} must be open (null)")
    previous: Decimal | None = None
    for index, step in enumerate(steps[:last]):
        where = f"{path}[{index}].upto"
        if step.upto is None:
            _fail(where, f"only the last {kind} may be open")
        if isinstance(step.upto, Decimal):  # bounds from parameters are checked when quoting
            if previous is not None and step.upto <= previous:
                _fail(where, f"bounds must strictly increase ({previous} then {step.upto})")
            previous = step.upto
    return steps


def _step(raw: Any, path: str, phased: bool) -> Step:
    _keys(raw, path, required=("upto", "rate"))
    upto = raw["upto"]
    if upto is not None:
        upto = _value(upto, f"{path}.upto")
        if isinstance(upto, Decimal) and upto < 0:
            _fail(f"{path}.upto", f"must not be negative: {raw['upto']}")
    return Step(upto, _rate(raw["rate"], f"{path}.rate", phased))


_WHEN_KEYS = ("units_upto", "units_above", "load_upto", "load_above", "phase", "flag")


def _when(raw: Any, path: str) -> When:
    _keys(raw, path, optional=_WHEN_KEYS)

    def read(key: str, parse: Callable[[Any, str], Any]) -> Any:
        return None if key not in raw else parse(raw[key], f"{path}.{key}")

    return When(
        units_upto=read("units_upto", _value),
        units_above=read("units_above", _value),
        load_upto=read("load_upto", _decimal),
        load_above=read("load_above", _decimal),
        phase=read("phase", lambda value, where: _choice(value, where, PHASES)),
        flag=read("flag", _text_value),
    )


def _of(raw: Any, path: str, earlier: frozenset[str]) -> tuple[str, ...]:
    """Codes of earlier components, each once (the amounts they sum are known by then)."""
    if not isinstance(raw, list) or not raw:
        _fail(path, "must be a non-empty list of codes")
    seen: list[str] = []
    for index, code in enumerate(raw):
        where = f"{path}[{index}]"
        _name(code, where)
        if code in seen:
            _fail(where, f"{code} is listed twice")
        if code not in earlier:
            _fail(where, f"{code} is not the code of an earlier component")
        seen.append(code)
    return tuple(seen)


def _slabs(raw: dict[str, Any], path: str, common: dict[str, Any], earlier: frozenset[str]) -> Slabs:
    return Slabs(**common, slabs=_steps(raw["slabs"], f"{path}.slabs", "slab"))


def _bands(raw: dict[str, Any], path: str, common: dict[str, Any], earlier: frozenset[str]) -> Bands:
    return Bands(**common, bands=_steps(raw["bands"], f"{path}.bands", "band"))


def _fixed(raw: dict[str, Any], path: str, common: dict[str, Any], earlier: frozenset[str]) -> Fixed:
    per = _choice(raw["per"], f"{path}.per", ("connection", "kw"))
    scaled = _boolean(raw.get("scaled", True), f"{path}.scaled")
    if ("rate" in raw) == ("bands" in raw):
        _fail(path, "a fixed charge needs either rate, or band_on with bands")
    if "rate" in raw:
        if "band_on" in raw:
            _fail(f"{path}.band_on", "only goes with bands")
        return Fixed(
            **common,
            per=per,
            rate=_rate(raw["rate"], f"{path}.rate", phased=True),
            band_on=None,
            bands=None,
            scaled=scaled,
        )
    if "band_on" not in raw:
        _fail(f"{path}.band_on", "required with bands (units or load)")
    return Fixed(
        **common,
        per=per,
        rate=None,
        band_on=_choice(raw["band_on"], f"{path}.band_on", ("units", "load")),
        bands=_steps(raw["bands"], f"{path}.bands", "band", phased=True),
        scaled=scaled,
    )


def _percent(raw: dict[str, Any], path: str, common: dict[str, Any], earlier: frozenset[str]) -> Percent:
    cap = None if "cap" not in raw else _non_negative(raw["cap"], f"{path}.cap")
    return Percent(
        **common,
        percent=_value(raw["percent"], f"{path}.percent"),
        of=_of(raw["of"], f"{path}.of", earlier),
        cap=cap,
        scaled=_boolean(raw.get("scaled", True), f"{path}.scaled"),
    )


def _minimum(raw: dict[str, Any], path: str, common: dict[str, Any], earlier: frozenset[str]) -> Minimum:
    return Minimum(
        **common,
        amount=_non_negative(raw["amount"], f"{path}.amount"),
        of=_of(raw["of"], f"{path}.of", earlier),
        scaled=_boolean(raw.get("scaled", True), f"{path}.scaled"),
    )


# type -> (reader, its required keys, its optional keys besides code, label, type and when)
_COMPONENT_TYPES: dict[str, tuple[Callable[..., Component], tuple[str, ...], tuple[str, ...]]] = {
    "slabs": (_slabs, ("slabs",), ()),
    "bands": (_bands, ("bands",), ()),
    "fixed": (_fixed, ("per",), ("rate", "band_on", "bands", "scaled")),
    "percent": (_percent, ("percent", "of"), ("cap", "scaled")),
    "minimum": (_minimum, ("amount", "of"), ("scaled",)),
}


def _component(raw: Any, path: str, earlier: frozenset[str]) -> Component:
    if not isinstance(raw, dict):
        _fail(path, "must be an object")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in _COMPONENT_TYPES:
        _fail(
            f"{path}.type",
            "required" if "type" not in raw else f"must be one of {', '.join(_COMPONENT_TYPES)}: {_show(kind)}",
        )
    read, required, optional = _COMPONENT_TYPES[kind]
    if "scaled" in raw and not ("scaled" in optional and (kind != "percent" or "cap" in raw)):
        _fail(f"{path}.scaled", "only allowed on fixed, minimum, and percent with a cap")
    _keys(raw, path, required=("code", "label", "type", *required), optional=("when", *optional))
    code = _name(raw["code"], f"{path}.code")
    if code == ROUNDING_CODE:
        _fail(f"{path}.code", f"{ROUNDING_CODE} is reserved for the rounding line")
    common = {
        "path": path,
        "code": code,
        "label": _text_value(raw["label"], f"{path}.label"),
        "when": _when(raw.get("when", {}), f"{path}.when"),
    }
    return read(raw, path, common, earlier)


def _components(raw: Any, path: str, problems: _Problems) -> tuple[Component, ...]:
    """Each component is checked even when an earlier one is wrong, so that all problems show at once."""
    if not isinstance(raw, list) or not raw:
        problems.append(f"{path}: must be a non-empty list")
        return ()
    parsed: list[Component] = []
    earlier: set[str] = set()
    for index, item in enumerate(raw):
        component = problems.attempt(_component, item, f"{path}[{index}]", frozenset(earlier))
        if component is not None:
            parsed.append(component)
        code = item.get("code") if isinstance(item, dict) else None
        if isinstance(code, str):
            earlier.add(code)
    return tuple(parsed)


def _period(raw: Any, path: str) -> PeriodRule:
    _keys(raw, path, required=("base_days", "factor", "factor_places", "bound_rounding"))
    places = raw["factor_places"]
    return PeriodRule(
        base_days=_whole(raw["base_days"], f"{path}.base_days", 1),
        factor=_choice(raw["factor"], f"{path}.factor", ("days", "calendar")),
        factor_places=None if places is None else _whole(places, f"{path}.factor_places", 0),
        bound_rounding=_choice(raw["bound_rounding"], f"{path}.bound_rounding", ("none", "integer")),
    )


def _params(raw: Any, path: str) -> Mapping[str, Decimal]:
    if not isinstance(raw, dict):
        _fail(path, "must be an object")
    return MappingProxyType(
        {_name(name, f"{path}.{name}"): _decimal(value, f"{path}.{name}") for name, value in raw.items()}
    )


def _rounding(raw: Any, path: str) -> Rounding:
    _keys(raw, path, required=("line", "total"))
    line = _positive(raw["line"], f"{path}.line")
    total = _positive(raw["total"], f"{path}.total")
    if total % line:
        _fail(f"{path}.total", f"must be a whole multiple of rounding.line ({raw['line']})")
    return Rounding(line, total)


def _payment_terms(raw: Any, path: str) -> PaymentTerms:
    _keys(raw, path, optional=("due_days", "prompt_rebate", "digital_rebate", "late_surcharge"))
    digital = raw.get("digital_rebate")
    late = raw.get("late_surcharge")
    return PaymentTerms(
        due_days=_whole(raw.get("due_days", 15), f"{path}.due_days", 0),
        prompt_rebate=_prompt_rebates(raw.get("prompt_rebate", []), f"{path}.prompt_rebate"),
        digital_rebate=None if digital is None else _digital_rebate(digital, f"{path}.digital_rebate"),
        late_surcharge=None if late is None else _late_surcharge(late, f"{path}.late_surcharge"),
    )


def _prompt_rebates(raw: Any, path: str) -> tuple[PromptRebate, ...]:
    if not isinstance(raw, list):
        _fail(path, "must be a list")
    rebates = []
    for index, item in enumerate(raw):
        where = f"{path}[{index}]"
        _keys(item, where, required=("within_days", "percent"))
        rebate = PromptRebate(
            _whole(item["within_days"], f"{where}.within_days", 0),
            _non_negative(item["percent"], f"{where}.percent"),
        )
        if rebates and rebate.within_days <= rebates[-1].within_days:
            _fail(f"{where}.within_days", "must increase")
        rebates.append(rebate)
    return tuple(rebates)


def _digital_rebate(raw: Any, path: str) -> DigitalRebate:
    _keys(raw, path, required=("percent",), optional=("cap",))
    cap = None if "cap" not in raw else _non_negative(raw["cap"], f"{path}.cap")
    return DigitalRebate(_non_negative(raw["percent"], f"{path}.percent"), cap)


def _late_surcharge(raw: Any, path: str) -> LateSurcharge:
    _keys(raw, path, required=("percent_per_month",), optional=("on",))
    return LateSurcharge(
        _non_negative(raw["percent_per_month"], f"{path}.percent_per_month"),
        _choice(raw.get("on", "arrears"), f"{path}.on", ("arrears", "bill")),
    )


def _sources(raw: Any, path: str) -> tuple[str, ...]:
    if not isinstance(raw, list):
        _fail(path, "must be a list of strings")
    return tuple(_text_value(item, f"{path}[{index}]") for index, item in enumerate(raw))


def _format(raw: Any, path: str) -> str:
    if raw != FORMAT:
        _fail(path, f"must be {FORMAT!r}: {_show(raw)}")
    return raw


def _optional_date(raw: Any, path: str) -> date | None:
    return None if raw is None else _date(raw, path)


# key -> reader; the optional keys' defaults are TARIFF_FORMAT's
_TOP_READERS: dict[str, Callable[[Any, str], Any]] = {
    "format": _format,
    "code": _text_value,
    "name": _text_value,
    "utility": lambda raw, path: _choice(raw, path, ("electricity", "water", "gas")),
    "unit": _text_value,
    "effective_from": _date,
    "effective_to": _optional_date,
    "period": _period,
    "params": _params,
    "rounding": _rounding,
    "payment_terms": _payment_terms,
    "sources": _sources,
}
_TOP_REQUIRED = ("format", "code", "name", "effective_from", "period", "components")
_TOP_DEFAULTS: dict[str, Any] = {
    "utility": "electricity",
    "unit": "kWh",
    "effective_to": None,
    "params": {},
    "rounding": {"line": "0.01", "total": "0.01"},
    "payment_terms": {"due_days": 15},
    "sources": [],
}


class _Problems(list[str]):
    """Collects problems so that a document shows all of them at once, not one per attempt."""

    def attempt(self, read: Callable[..., Any], *args: Any) -> Any:
        try:
            return read(*args)
        except TariffError as error:
            self.extend(error.problems)
            return None


def load_tariff(doc: Mapping[str, Any]) -> Tariff:
    """Validate a decoded document fully and return the tariff; TariffError lists every problem."""
    if not isinstance(doc, Mapping):
        raise TariffError("document: must be an object")
    document = copy.deepcopy(dict(doc))
    problems = _Problems()
    problems.attempt(_keys, document, "", _TOP_REQUIRED, tuple(_TOP_DEFAULTS))
    raw = _TOP_DEFAULTS | document
    values = {key: problems.attempt(read, raw[key], key) for key, read in _TOP_READERS.items() if key in raw}
    components = _components(raw["components"], "components", problems) if "components" in raw else ()
    problems.attempt(_check_effective_window, values.get("effective_from"), values.get("effective_to"))
    if problems:
        raise TariffError(*problems)
    del values["format"]
    return Tariff(document=document, components=components, **values)


def _check_effective_window(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        _fail("effective_to", f"{end} is before effective_from {start}")


class _DuplicateKeys(dict):  # type: ignore[type-arg]
    """A decoded JSON object that had keys twice; found after decoding, so that the path is known."""

    duplicates: list[str]


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    decoded = dict(pairs)
    if len(decoded) == len(pairs):
        return decoded
    marked = _DuplicateKeys(decoded)
    marked.duplicates = [key for index, (key, _) in enumerate(pairs) if key in dict(pairs[:index])]
    return marked


def _duplicate_keys(node: Any, path: str = "") -> Iterator[str]:
    if isinstance(node, _DuplicateKeys):
        yield from (f"{_join(path, key)}: duplicate key" for key in dict.fromkeys(node.duplicates))
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _duplicate_keys(value, _join(path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _duplicate_keys(item, f"{path}[{index}]")


def parse_tariff(text: str) -> Tariff:
    """Decode and validate a `dtech-tariff/1` JSON text (an object with a key twice is refused)."""
    try:
        document = json.loads(text, object_pairs_hook=_object_pairs)
    except json.JSONDecodeError as error:
        raise TariffError(f"line {error.lineno} column {error.colno}: not valid JSON: {error.msg}") from None
    duplicates = list(_duplicate_keys(document))
    if duplicates:
        raise TariffError(*duplicates)
    return load_tariff(document)


@lru_cache(maxsize=256)
def stored_tariff(document: str) -> Tariff:
    """A stored tariff version's document, parsed once per process (its Tariff is immutable): every bill page,
    forecast and bill run reads one, and parsing takes milliseconds. Keyed by the text itself, so a changed
    document is parsed afresh."""
    return parse_tariff(document)
