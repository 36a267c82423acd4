"""A Corridor (source side, target side, themes, actor types) and its resolution to actors.

A side is a list of country codes (``DK``, EU style: ``EL`` for Greece, ``UK``) or NUTS codes
(``DK03``); an actor is on a side when its country code or its most specific NUTS code starts
with one of the side's codes (NUTS codes nest by prefix, and a NUTS level-0 code is the country
code). Themes are BOOST theme slugs (``ict-digital``), Horizon 2020 programme parts
(``SC1`` or ``h2020/SC1``) or full theme IRIs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from boostkg.analysis.projection import ACTOR_TYPES, Projection
from boostkg.errors import InputError, UnknownTermError
from boostkg.namespaces import THEME

_ALIASES = {"GR": "EL", "GB": "UK"}
BOOST_CORRIDOR = ("DK03,EE00", "RO11,BG33,ES51")
"""The BOOST project's own corridor (regions)."""
BIG_CORRIDOR = ("DK,EE,SE,FI,NL,BE", "RO,BG,ES,HR,PL,HU,LV,SK,EL")
"""The wide corridor of the benchmark and the default back-test: leaders → catch-up countries."""
BOOST_THEMES = ("industry-cleantech-green", "health-wellbeing", "ict-digital")
"""The BOOST project's three themes (slugs under theme/)."""


def split_codes(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """Codes from ``"DK, ee"`` or ``["DK,EE", "SE"]``, upper-cased, aliases mapped, in order.

    >>> split_codes("dk, EE,,GR")
    ('DK', 'EE', 'EL')
    >>> split_codes(["DK,EE", "SE"])
    ('DK', 'EE', 'SE')
    """
    if text is None:
        return ()
    items = [text] if isinstance(text, str) else list(text)
    codes: list[str] = []
    for item in items:
        for raw in item.split(","):
            code = raw.strip().upper()
            code = _ALIASES.get(code, code)
            if code and code not in codes:
                codes.append(code)
    return tuple(codes)


def _split_terms(values: str | Sequence[str] | None) -> tuple[str, ...]:
    if values is None:
        return ()
    items = [values] if isinstance(values, str) else list(values)
    return tuple(dict.fromkeys(v.strip() for item in items for v in item.split(",") if v.strip()))


@dataclass(frozen=True)
class Corridor:
    """Who is matched with whom: codes of each side, optional theme IRIs and actor classes."""

    sources: tuple[str, ...]
    targets: tuple[str, ...]
    themes: tuple[str, ...] = ()
    actor_types: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls,
        sources: str | Sequence[str] | None,
        targets: str | Sequence[str] | None,
        *,
        themes: str | Sequence[str] | None = None,
        actor_types: str | Sequence[str] | None = None,
    ) -> Corridor:
        """Parse user input (comma-separated lists); codes and themes are checked by :func:`resolve`.

        Raises:
            InputError: a side is empty.

        >>> Corridor.parse("DK,EE", "ro", themes="SC1").targets
        ('RO',)
        >>> Corridor.parse("", "RO")
        Traceback (most recent call last):
        ...
        boostkg.errors.InputError: the source side (--from) is empty: give country or NUTS codes, e.g. DK,EE
        """
        src, tgt = split_codes(sources), split_codes(targets)
        if not src:
            raise InputError("the source side (--from) is empty: give country or NUTS codes, e.g. DK,EE")
        if not tgt:
            raise InputError("the target side (--to) is empty: give country or NUTS codes, e.g. RO,BG,ES")
        return cls(src, tgt, _split_terms(themes), _split_terms(actor_types))

    def describe(self) -> str:
        """A one-line description, e.g. ``DK,EE → RO,BG (theme SC1)``."""
        text = f"{','.join(self.sources)} → {','.join(self.targets)}"
        extras = []
        if self.themes:
            extras.append("themes " + ", ".join(t.removeprefix(str(THEME)) for t in self.themes))
        if self.actor_types:
            extras.append("actor types " + ", ".join(self.actor_types))
        return text + (f" ({'; '.join(extras)})" if extras else "")


@dataclass(frozen=True)
class Sides:
    """A corridor resolved against a projection: row indices of each side's actors."""

    corridor: Corridor
    sources: npt.NDArray[np.int64]
    targets: npt.NDArray[np.int64]
    theme_columns: tuple[int, ...]
    part_columns: tuple[int, ...]
    theme_projects: npt.NDArray[np.bool_] | None = None
    """Projects in one of the corridor's themes (``None`` when it names no theme)."""
    declared: npt.NDArray[np.bool_] | None = None
    """Actors that declare one of the corridor's themes themselves (``None`` when it names none)."""


def resolve_theme(term: str, projection: Projection) -> str:
    """The IRI of a theme or programme part named by slug, code or IRI.

    Raises:
        UnknownTermError: no such theme or programme part.
    """
    known = set(projection.theme_labels) | set(projection.themes) | set(projection.parts)
    base = str(THEME)
    candidates = [term, base + term, base + "h2020/" + term.replace(" ", "-")]
    for candidate in candidates:
        if candidate in known:
            return candidate
    slugs = sorted(t.removeprefix(base) for t in known if "/" not in t.removeprefix(base))
    raise UnknownTermError(
        f"unknown theme {term!r}: use a theme slug ({', '.join(slugs[:6])}, ...), "
        "a Horizon 2020 programme part (SC1 ... SC7, LEIT, ERC, MSCA, ...) or a theme IRI"
    )


def theme_projects(
    projection: Projection, theme_columns: Sequence[int], part_columns: Sequence[int]
) -> npt.NDArray[np.bool_]:
    """Projects with one of the themes (``icf:hasTheme``, inferred from the programme part through
    themes.ttl's ``skos:broadMatch``/``skos:closeMatch``) or in one of the programme parts.

    >>> from boostkg.analysis.projection import build_projection
    >>> p = build_projection([("a", "p"), ("a", "q")], {"p": 2015, "q": 2016},
    ...                      project_themes=[("p", "T")], project_parts=[("q", "SC1")])
    >>> theme_projects(p, [0], []).tolist(), theme_projects(p, [0], [0]).tolist()
    ([True, False], [True, True])
    """
    mask = np.zeros(projection.n_projects, dtype=bool)
    if theme_columns:
        mask |= np.asarray(projection.project_themes[:, list(theme_columns)].sum(axis=1)).ravel() > 0
    if part_columns:
        mask |= np.asarray(projection.project_parts[:, list(part_columns)].sum(axis=1)).ravel() > 0
    return mask


def declared_in(projection: Projection, theme_iris: Sequence[str]) -> npt.NDArray[np.bool_]:
    """Actors that state one of ``theme_iris`` themselves (``icf:hasTheme`` outside graph/inferred).

    >>> from boostkg.analysis.projection import build_projection
    >>> p = build_projection([("a", "p"), ("b", "p")], {"p": 2015}, declared_themes={"b": frozenset({"T"})})
    >>> declared_in(p, ["T"]).tolist()
    [False, True]
    """
    wanted = set(theme_iris)
    mask = np.zeros(projection.n_actors, dtype=bool)
    index = projection.actor_index() if projection.declared_themes else {}
    for actor, themes in projection.declared_themes.items():
        if themes & wanted:
            mask[index[actor]] = True
    return mask


def _check_codes(codes: Iterable[str], projection: Projection, option: str) -> None:
    known = projection.known_codes | set(projection.countries)
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise UnknownTermError(
            f"unknown country or NUTS region code {', '.join(repr(c) for c in unknown)} in {option}: "
            "use EU country codes (DK, EE, EL, ...) or NUTS 2024 codes (DK03, RO11, ...)"
        )


def side_mask(codes: Sequence[str], projection: Projection) -> npt.NDArray[np.bool_]:
    """Which actors are on a side given by country or NUTS codes (prefix match on NUTS codes).

    >>> from boostkg.analysis.projection import build_projection
    >>> p = build_projection([], {}, actor_info={"a": ("", "", "DK", "DK032"), "b": ("", "", "RO", "")})
    >>> side_mask(("DK03",), p).tolist(), side_mask(("RO", "DK"), p).tolist()
    ([True, False], [True, True])
    """
    prefixes = tuple(codes)
    mask = np.fromiter(
        (
            (bool(country) and country in prefixes) or (bool(region) and region.startswith(prefixes))
            for country, region in zip(projection.countries, projection.regions, strict=True)
        ),
        dtype=bool,
        count=projection.n_actors,
    )
    return mask


def resolve(
    corridor: Corridor, projection: Projection, *, history: npt.NDArray[np.bool_] | None = None
) -> Sides:
    """The corridor's actors in ``projection``: on each side, of the asked types, and (when themes
    are given) with at least one project in one of the themes (among ``history`` projects, if given)
    or declaring one of the themes themselves.

    Raises:
        UnknownTermError: an unknown country or NUTS code, theme or actor type.
        InputError: a side has no actors once every filter is applied.
    """
    _check_codes(corridor.sources, projection, "--from")
    _check_codes(corridor.targets, projection, "--to")
    for actor_type in corridor.actor_types:
        if actor_type not in ACTOR_TYPES:
            raise UnknownTermError(
                f"unknown actor type {actor_type!r}: use one of {', '.join(sorted(ACTOR_TYPES))}"
            )
    theme_iris = tuple(resolve_theme(t, projection) for t in corridor.themes)
    theme_cols = tuple(projection.themes.index(t) for t in theme_iris if t in projection.themes)
    part_cols = tuple(projection.parts.index(t) for t in theme_iris if t in projection.parts)
    keep = np.ones(projection.n_actors, dtype=bool)
    if corridor.actor_types:
        wanted = set(corridor.actor_types)
        keep &= np.fromiter((bool(wanted & t) for t in projection.actor_types), dtype=bool, count=len(keep))
    in_theme: npt.NDArray[np.bool_] | None = None
    declared: npt.NDArray[np.bool_] | None = None
    if theme_iris:
        in_theme = theme_projects(projection, theme_cols, part_cols)
        declared = declared_in(projection, theme_iris)
        active = in_theme if history is None else in_theme & history
        keep &= (np.asarray(projection.incidence[:, active].sum(axis=1)).ravel() > 0) | declared
    resolved = Corridor(corridor.sources, corridor.targets, tuple(theme_iris), corridor.actor_types)
    sides = []
    for codes, name in ((corridor.sources, "source side (--from)"), (corridor.targets, "target side (--to)")):
        idx = np.flatnonzero(side_mask(codes, projection) & keep)
        if idx.size == 0:
            raise InputError(f"no actors on the {name} of corridor {resolved.describe()}")
        sides.append(idx.astype(np.int64))
    return Sides(resolved, sides[0], sides[1], theme_cols, part_cols, in_theme, declared)
