"""The text door: a prompt → a :class:`~assetgen.control.HeadSpec` (or an edit of one), with a report of what
was understood and what was ignored.

    r = spec_from_text("a very old man with a wide nose, not smiling", seed=3)
    r.spec, r.understood, r.ignored         # [Phrase('very old', 'age', +1, 1.5, …), …], []
    r2 = edit_from_text("make him older and smile more", r.spec)

Pipeline (papers 003 §5.5 and 004 §3.2.2 edit a latent with text / with SVM directions; here the text side is an
offline sentence encoder and the directions are fitted on our own generated meshes):

1. **Checks**: a non-empty string of at most :data:`MAX_PROMPT_CHARS` characters (``ValueError`` naming
   ``text``).
2. **Clauses**: split at ``, ; . ! ?`` and the words *and, but, with, while, who, plus*; *without* starts a
   clause of its own.
3. **Numbers**: "60 years old", "age 60", "aged 60", "a 60-year-old", "in his 60s" set the age; "10 years
   older" adds to it.
4. **Keywords** (:mod:`assetgen.control.text_vocab`): longest phrases first, non-overlapping, so "hooked nose"
   or "blue eyes" are read exactly. A degree word before (or after) a match scales it ("slightly" 0.5, "very"
   1.5, "extremely" 2 …); a negation earlier in the clause (*not, no, without, n't, never*) negates it;
   "less"/"fewer" flip the direction.
5. **Encoder**: a clause with no keyword is embedded (all-MiniLM-L6-v2, :mod:`~assetgen.control.text_encoder`)
   and matched to the vocabulary's anchor phrases by cosine similarity; the best attribute is taken when the
   similarity reaches :data:`THRESHOLD`. The threshold was chosen on the ``split: tune`` half of
   ``tests/data/text_eval.yaml`` and is reported on the ``split: heldout`` half separately
   (``benchmarks/bench_text.py``).
6. **Effects** per model (:mod:`~assetgen.control.text_vocab`): named controls through
   :func:`~assetgen.control.edits.apply_edit` (clamped), ARKit expression weights (open head), and measured
   directions (:mod:`~assetgen.control.directions`) — several at once by the minimum-norm step.

Semantics: the **spec door** (:func:`spec_from_text`) starts from the seed's head (neutral expression) or
``base`` and moves each attribute *at least* to its pole's typical value ("old" → age ≥ 65, "very old" ≥ 75,
never lower than the start plus a quarter step); the **edit door** (:func:`edit_from_text`) only adds the
deltas ("make him older" → age + 20, "slightly older" → + 10, "smile more" → smile weights + 0.4).
Negation of a one-sided attribute (expressions, freckles, beard) means *absent* ("not smiling" → smile weights
0); of a two-sided one, the other pole at half strength ("not old" → younger). Gendered pronouns set the sex in
the spec door and are ignored by the edit door (they name the head being edited). Words understood but not
available on the model (FLAME has no sex or nose-hump direction) are listed in ``ignored`` with the reason; a
prompt with nothing understood raises ``ValueError`` naming ``text`` — never a random head.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from assetgen.control import controls as C
from assetgen.control import text_vocab as V
from assetgen.control.edits import Edit, EditOp, apply_edit
from assetgen.control.latent import spec_from_seed
from assetgen.control.spec import HeadSpec
from assetgen.control.texture_controls import TEXTURE_CONTROLS

__all__ = ["Phrase", "TextResult", "spec_from_text", "edit_from_text", "parse_prompt", "MAX_PROMPT_CHARS",
           "THRESHOLD", "STEP_SIGMA", "warm_up"]

#: Longest accepted prompt, characters.
MAX_PROMPT_CHARS = 500
#: Cosine similarity a clause needs with an anchor phrase to be understood by the encoder (tuned on the
#: ``tune`` split of the evaluation set: 0.40 and 0.45 both score 53/53 there, the larger was kept; the
#: ``heldout`` split then scores 50/51 — benchmarks/bench_text.py).
THRESHOLD = 0.45
#: Other attributes whose best anchor is within this similarity of the best one are understood too.
MARGIN = 0.02
#: Step along a measured direction at strength 1, in σ of the fitting samples' projections.
STEP_SIGMA = 2.0
_EDIT_EXPRESSION_STEP = 0.5


@dataclass(frozen=True)
class Phrase:
    """One understood piece of a prompt.

    Attributes:
        text: the words it came from; attribute: a :data:`~assetgen.control.text_vocab.VOCABULARY` name
            (``"age_years"`` for a number of years).
        direction: +1 toward the attribute's ``+`` pole ("old"), −1 toward the other ("young"), 0 for
            absent (a negated one-sided attribute) or an absolute value (a number, a colour).
        strength: degree multiplier (1 plain, 0.5 "slightly", 1.5 "very"); for ``age_years`` the years.
        source: ``"keyword"``, ``"encoder"`` or ``"number"``; score: the cosine similarity (encoder) or 1.
    """

    text: str
    attribute: str
    direction: int
    strength: float
    source: str = "keyword"
    score: float = 1.0


@dataclass(frozen=True)
class TextResult:
    """A spec with the report: ``understood`` phrases and ``ignored`` pieces of the prompt (with reasons)."""

    spec: HeadSpec
    understood: list[Phrase]
    ignored: list[str]


# ---------------------------------------------------------------------------------------------- parsing
def _phrase_regex(phrase: str) -> str:
    words = [re.escape(w) for w in re.split(r"[\s\-]+", phrase.strip())]
    return r"(?<![\w'])" + r"[\s\-]+".join(words) + r"(?![\w'])"


@functools.lru_cache(maxsize=1)
def _keyword_table() -> list[tuple[re.Pattern, str, int, bool, int]]:
    """(pattern, attribute, pole, pronoun?, length) sorted longest first."""
    rows = []
    for a in V.VOCABULARY:
        for pole, words in ((1, a.plus), (-1, a.minus)):
            for w in words:
                rows.append((w, a.name, pole, False))
        for w in a.pronoun:
            rows.append((w, a.name, 1 if w in ("he", "him", "his") else -1, True))
    rows.sort(key=lambda r: (-len(r[0]), r[0]))
    return [(re.compile(_phrase_regex(w)), name, pole, pron, len(w)) for w, name, pole, pron in rows]


_DEGREE = sorted(V.DEGREE_WORDS, key=len, reverse=True)
_DEGREE_RE = re.compile(r"(?<![\w'])(" + "|".join(re.escape(d) for d in _DEGREE) + r")(?![\w'])")
_NEG_RE = re.compile(r"(?<![\w'])(?:not|no|never|without|non|nor|neither|stop|lose)(?![\w'])|n't(?![\w'])")
_LESS_RE = re.compile(r"(?<![\w'])(?:less|fewer|reduce|remove|lower|decrease)(?![\w'])")
_STOP = set("""a an the with his her their its of and or is are was be being looking look looks who that this
person people face head someone somebody guy make made give gives turn into to it them him he she very more less
bit little slightly little somewhat extremely really quite one in on at for like as has have having please some
way much lot little also kind sort type character portrait human""".split())
_SPLIT_RE = re.compile(r"[,;.!?]+|(?<![\w'])(?:and|but|with|while|who|plus|also|&|yet)(?![\w'])")
_AGE_PATTERNS = (
    (re.compile(r"(\d{1,3})\s*(?:-\s*)?(?:years?|yrs?)(?:\s*-\s*|\s+)(older|younger)\b"), "delta"),
    (re.compile(r"(\d{1,3})\s*(?:-\s*|\s+)?(?:years?|yrs?|yo|y/o)(?:(?:\s*-\s*|\s+)old)?(?![\w'])"), "set"),
    (re.compile(r"\b(?:age|aged)\s*(?:of\s*|is\s*|:\s*)?(\d{1,3})\b"), "set"),
    (re.compile(r"\bin (?:his|her|their|the)\s+(early|mid|late|mid-)?\s*(\d)0'?s\b"), "decade"),
)


def _split(text: str) -> list[tuple[str, int]]:
    """Clauses (lower case) with their start offsets in ``text``."""
    text = re.sub(r"(?<![\w'])without(?![\w'])", ", without", text)
    out, start = [], 0
    for m in _SPLIT_RE.finditer(text):
        out.append((text[start:m.start()], start))
        start = m.end()
    out.append((text[start:], start))
    return [(c.strip(), s) for c, s in out if c.strip()]


def _numbers(clause: str) -> tuple[list[Phrase], str]:
    found = []
    for pattern, kind in _AGE_PATTERNS:
        for m in pattern.finditer(clause):
            if kind == "delta":
                years = float(m.group(1)) * (1 if m.group(2) == "older" else -1)
                found.append(Phrase(m.group(0), "age_years", 1, years, "number"))
            elif kind == "decade":
                offset = {"early": 2, "mid": 5, "mid-": 5, "late": 8}.get(m.group(1) or "", 5)
                found.append(Phrase(m.group(0), "age_years", 0, float(m.group(2)) * 10 + offset, "number"))
            else:
                found.append(Phrase(m.group(0), "age_years", 0, float(m.group(1)), "number"))
            clause = clause[:m.start()] + " " * (m.end() - m.start()) + clause[m.end():]
    return found, clause


def _keywords(clause: str) -> tuple[list[tuple[int, int, str, int, bool]], str]:
    """Non-overlapping keyword matches (start, end, attribute, pole, pronoun) and the clause with them blanked."""
    taken = np.zeros(len(clause) + 1, bool)
    hits = []
    for pattern, name, pole, pron, _ in _keyword_table():
        for m in pattern.finditer(clause):
            same = [h for h in hits if h[0] == m.start() and h[1] == m.end() and h[2] != name]
            if taken[m.start():m.end()].any() and not same:
                continue
            if any(h[2] == name and h[0] == m.start() for h in hits):
                continue
            hits.append((m.start(), m.end(), name, pole, pron))
            taken[m.start():m.end()] = True
    rest = "".join(" " if taken[i] else ch for i, ch in enumerate(clause))
    return sorted(hits), rest


def _modifiers(clause: str, start: int, end: int, prev_end: int, next_start: int) -> tuple[float, bool, bool]:
    """(degree, negated, less) for a match at ``[start, end)`` of ``clause``."""
    degree = None
    for m in _DEGREE_RE.finditer(clause, prev_end, start):
        degree = V.DEGREE_WORDS[m.group(1)]
    if degree is None:
        m = _DEGREE_RE.search(clause, end, next_start)
        degree = V.DEGREE_WORDS[m.group(1)] if m else 1.0
    negated = _NEG_RE.search(clause, 0, start) is not None
    less = _LESS_RE.search(clause, prev_end, next_start) is not None
    return degree, negated, less


def _content(text: str) -> str:
    text = _DEGREE_RE.sub(" ", text)
    text = _NEG_RE.sub(" ", text)
    words = [w for w in re.findall(r"[a-z][a-z'\-]*", text) if w not in _STOP]
    return " ".join(words)


@functools.lru_cache(maxsize=1)
def _anchors() -> tuple[np.ndarray, list[tuple[str, int]]]:
    """Encoder anchors: ``[A, 384]`` unit embeddings and (attribute, pole) per row."""
    from assetgen.control.text_encoder import encode

    texts, owners = [], []
    for a in V.VOCABULARY:
        for pole, words, anchors in ((1, a.plus, a.plus_anchors), (-1, a.minus, a.minus_anchors)):
            for t in tuple(anchors) + tuple(words):
                texts.append(t)
                owners.append((a.name, pole))
    for t in V.REJECT_ANCHORS:
        texts.append(t)
        owners.append(("", 0))
    return encode(texts), owners


def warm_up() -> float:
    """Load the encoder and embed the anchors (returns the seconds it took)."""
    import time

    start = time.perf_counter()
    _anchors()
    return time.perf_counter() - start


def parse_prompt(prompt: str, *, use_encoder: bool = True) -> tuple[list[Phrase], list[str]]:
    """Phrases understood and clauses not understood (model-independent; pronoun phrases are marked with
    ``source = "pronoun"``)."""
    text = _check_text(prompt).lower().replace("’", "'")
    understood: list[Phrase] = []
    ignored: list[str] = []
    pending: list[tuple[str, str, float, bool, bool]] = []  # (clause, content, degree, negated, less)
    for clause, _ in _split(text):
        nums, rest = _numbers(clause)
        understood += nums
        hits, leftover = _keywords(rest)
        for i, (s, e, name, pole, pron) in enumerate(hits):
            prev_end = hits[i - 1][1] if i else 0
            next_start = hits[i + 1][0] if i + 1 < len(hits) else len(rest)
            degree, negated, less = _modifiers(rest, s, e, prev_end, next_start)
            understood.append(_phrase(clause[s:e], name, pole, degree, negated, less,
                                      "pronoun" if pron else "keyword", 1.0))
        content = _content(leftover)
        if not hits and not nums and content:
            if use_encoder:
                m = _DEGREE_RE.search(clause)
                degree = V.DEGREE_WORDS[m.group(1)] if m else 1.0
                pending.append((clause, content, degree, _NEG_RE.search(clause) is not None,
                                _LESS_RE.search(clause) is not None))
            else:
                ignored.append(clause)
    if pending:
        from assetgen.control.text_encoder import encode

        anchors, owners = _anchors()
        sims = encode([p[1] for p in pending]) @ anchors.T
        for (clause, _, degree, negated, less), row in zip(pending, sims):
            order = np.argsort(-row, kind="stable")
            best = float(row[order[0]])
            if best < THRESHOLD or not owners[order[0]][0]:
                ignored.append(clause)
                continue
            taken = set()
            for j in order[:8]:  # the best attribute, plus others within MARGIN of it ("grandmotherly")
                name, pole = owners[j]
                if row[j] < best - MARGIN:
                    break
                if name and name not in taken:
                    taken.add(name)
                    understood.append(_phrase(clause, name, pole, degree, negated, less, "encoder", float(row[j])))
    return understood, ignored


def _phrase(text, name, pole, degree, negated, less, source, score) -> Phrase:
    attr = V.by_name(name)
    direction = -pole if less else pole
    if negated:
        if attr.unipolar and direction > 0:
            return Phrase(text, name, 0, 1.0, source, score)
        direction, degree = -direction, 0.5 * degree
    return Phrase(text, name, direction, float(degree), source, score)


def _check_text(prompt) -> str:
    if not isinstance(prompt, str):
        raise ValueError(f"text: expected a string, got {type(prompt).__name__}")
    if not prompt.strip():
        raise ValueError("text: the prompt is empty")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ValueError(f"text: the prompt has {len(prompt)} characters; at most {MAX_PROMPT_CHARS} are accepted")
    return prompt


# --------------------------------------------------------------------------------------------- applying
def _current(doc: dict, fld: str, kind: str):
    section, _, name = fld.partition(".")
    if section == "pose":
        return tuple(doc["pose"].get(name, (0.0, 0.0, 0.0)))
    if section == "identity":
        return doc["identity"].get(name, C.OPEN_IDENTITY_CONTROLS[name].default)
    return doc["texture"][name]


def _control_op(ctl: V.Control, phrase: Phrase, doc: dict, kind: str, door: str) -> EditOp:
    cur = _current(doc, ctl.field, kind)
    s, d = phrase.strength, phrase.direction
    if ctl.set is not None:
        if isinstance(ctl.set, tuple):
            value = tuple(v * (0.0 if d == 0 or d < 0 else min(s, 1.5)) for v in ctl.set)
            return EditOp(ctl.field, "set", value)
        return EditOp(ctl.field, "set", ctl.set)
    if d == 0:  # absent
        rng = TEXTURE_CONTROLS.get(ctl.field.partition(".")[2])
        return EditOp(ctl.field, "set", rng.min if rng is not None else 0.0)
    if door == "edit" or (ctl.high is None and d > 0) or (ctl.low is None and d < 0):
        return EditOp(ctl.field, "add", d * ctl.delta * s)
    if d > 0:
        return EditOp(ctl.field, "set", max(cur + 0.25 * ctl.delta * s, ctl.high + (s - 1.0) * ctl.delta))
    return EditOp(ctl.field, "set", min(cur - 0.25 * ctl.delta * s, ctl.low - (s - 1.0) * ctl.delta))


def _space_values(doc: dict, kind: str, space: str, dim: int) -> np.ndarray:
    if kind == "open":
        return np.array([doc["identity"].get(k, 0.0) for k in C.OPEN_LOCAL_CHANGES])
    values = doc["identity"]["shape"] if space == "identity" else doc["expression"]["coefficients"]
    out = np.zeros(dim)
    out[:min(dim, len(values))] = values[:dim]
    return out


def _apply(base: HeadSpec, phrases: list[Phrase], door: str, model, prompt: str) -> tuple[HeadSpec, list[Phrase],
                                                                                           list[str]]:
    kind = base.model_kind
    doc = base.to_dict()
    ops: list[EditOp] = []
    used: list[Phrase] = []
    ignored: list[str] = []
    expr_new: dict[str, float] = {}
    expr_zero: set[str] = set()
    neutral = False
    requests: dict[str, dict[str, float]] = {}
    absent: dict[str, list[str]] = {}
    mentioned = {p.attribute for p in phrases}
    for p in phrases:
        if p.attribute == "age_years":
            fld = "identity.age" if kind == "open" else "texture.skin_age"
            if p.direction == 0:
                ops.append(EditOp(fld, "set", float(np.clip(p.strength, 18.0, 90.0))))
            else:
                ops.append(EditOp(fld, "add", p.strength))
            used.append(p)
            continue
        if p.source == "pronoun" and door == "edit":
            continue
        attr = V.by_name(p.attribute)
        effects = attr.effects(kind)
        reasons = [e.reason for e in effects if isinstance(e, V.Unsupported)]
        if reasons:
            ignored.append(f"{p.text} ({p.attribute}: {reasons[0]})")
            continue
        used.append(p)
        for eff in effects:
            if isinstance(eff, V.Control):
                ops.append(_control_op(eff, p, doc, kind, door))
            elif isinstance(eff, V.Expression):
                if not eff.weights:
                    neutral = p.direction != 0
                    continue
                for k, w in eff.weights.items():
                    cur = expr_new.get(k, doc["expression"].get(k, 0.0)) if kind == "open" else 0.0
                    if p.direction == 0:
                        expr_zero.add(k)
                    elif door == "edit" or p.direction < 0:
                        expr_new[k] = cur + p.direction * _EDIT_EXPRESSION_STEP * w * p.strength
                    else:
                        expr_new[k] = max(cur, w * p.strength)
            elif isinstance(eff, V.Measured):
                if p.direction == 0:
                    absent.setdefault(eff.space, []).extend(eff.measures)
                    continue
                req = requests.setdefault(eff.space, {})
                for m, a in eff.measures.items():
                    req[m] = req.get(m, 0.0) + a * p.direction * p.strength * STEP_SIGMA
    if door == "spec" and kind == "open" and "sex" in mentioned and "stubble" not in mentioned:
        sex_ops = [op for op in ops if op.field == "identity.sex"]
        if sex_ops and sex_ops[-1].op == "set" and sex_ops[-1].value < 0.5:
            ops.append(EditOp("texture.stubble", "set", 0.0))
    spec = apply_edit(base, Edit(tuple(ops)), clamp=True) if ops else base
    doc = spec.to_dict()
    if kind == "open":
        expr = dict(doc["expression"])
        if neutral:
            expr = {}
            doc["pose"].pop("jaw", None)
        for k in expr_zero:
            expr.pop(k, None)
        for k, v in expr_new.items():
            expr[k] = min(1.0, max(0.0, v))
        doc["expression"] = {k: v for k, v in expr.items() if v > 0.0}
    elif neutral:
        doc["expression"] = {"coefficients": []}
        doc["pose"].pop("jaw", None)
    if requests or absent:
        _move_measured(doc, kind, requests, absent, model)
    doc["origin"] = {"door": "text", "prompt": prompt, "parents": [base.hash], "text_door": door}
    return HeadSpec.from_dict(doc), used, ignored


def _move_measured(doc: dict, kind: str, requests: dict, absent: dict, model) -> None:
    from assetgen.control.directions import directions_for

    dirs = directions_for(model, fit=not isinstance(model, C.ModelInfo))
    for space in sorted(set(requests) | set(absent)):
        req = dict(requests.get(space, {}))
        dim = None
        for m in list(req) + absent.get(space, []):
            d = dirs.get(space, m)
            if d is None:
                req.pop(m, None)
                continue
            dim = len(d.normal)
        if dim is None:
            continue
        x = _space_values(doc, kind, space, dim)
        for m in absent.get(space, []):
            d = dirs.get(space, m)
            if d is not None and m not in req:
                req[m] = -max(0.0, float(x @ d.normal) / max(d.sigma, 1e-9))
        if not req:
            continue
        x = x + dirs.step(space, sorted(req.items()))
        lim = 1.0 if kind == "open" else C.FLAME_COEFFICIENT.max
        x = np.clip(x, -lim, lim)
        if kind == "open":
            doc["identity"].update(zip(C.OPEN_LOCAL_CHANGES, x.tolist()))
        elif space == "identity":
            old = list(doc["identity"]["shape"])
            doc["identity"]["shape"] = x.tolist() + old[dim:]
        else:
            old = list(doc["expression"]["coefficients"])
            doc["expression"]["coefficients"] = x.tolist() + old[dim:]


def _model_info(model):
    if isinstance(model, str):
        if model != C.OPEN_MODEL_ID:
            raise ValueError("model: a string model must be 'open'; pass the loaded FLAME model for FLAME")
        return C.OPEN_INFO
    return C.model_info(model)


def spec_from_text(prompt: str, model="open", *, seed: int = 0, base: HeadSpec | None = None) -> TextResult:
    """A head from a prompt.

    Args:
        prompt: English text, at most :data:`MAX_PROMPT_CHARS` characters.
        model: ``"open"`` or a loaded head model (FLAME: its measured directions are fitted at first use,
            a few seconds, and cached — see :mod:`~assetgen.control.directions`).
        seed: the starting head is :func:`~assetgen.control.spec_from_seed` ``(seed, model)`` (neutral).
        base: start from this spec instead of the seed's head (its model must be ``model``'s).
    Returns:
        :class:`TextResult` (spec with ``origin.door == "text"``, understood phrases, ignored pieces).
    Raises:
        ValueError: naming ``text`` (empty, too long, nothing understood), ``model`` or ``base``.
    """
    info = _model_info(model)
    if base is None:
        base = spec_from_seed(seed, info)
    elif not isinstance(base, HeadSpec):
        raise ValueError(f"base: expected a HeadSpec, got {type(base).__name__}")
    elif base.model != info.id:
        raise ValueError(f"base: spec is for model {base.model!r} but the model given is {info.id!r}")
    return _run(prompt, base, "spec", model if not isinstance(model, str) else info)


def edit_from_text(prompt: str, base_spec: HeadSpec, *, model=None) -> TextResult:
    """An edit of ``base_spec`` from a prompt ("make him older", "smile more", "less wrinkles").

    Deltas only (see the module docstring). ``model``: the loaded FLAME model when its directions are not
    fitted yet in this process or in the cache (the open head needs none).
    """
    if not isinstance(base_spec, HeadSpec):
        raise ValueError(f"base_spec: expected a HeadSpec, got {type(base_spec).__name__}")
    if model is None:
        model = C.OPEN_INFO if base_spec.model_kind == "open" else C.ModelInfo(base_spec.model, "flame")
    elif _model_info(model).id != base_spec.model:
        raise ValueError(f"model: {_model_info(model).id!r} is not the spec's model {base_spec.model!r}")
    return _run(prompt, base_spec, "edit", model if not isinstance(model, str) else C.OPEN_INFO)


def _run(prompt: str, base: HeadSpec, door: str, model) -> TextResult:
    phrases, ignored = parse_prompt(prompt)
    spec, used, unsupported = _apply(base, phrases, door, model, prompt)
    ignored = ignored + unsupported
    if not used:
        detail = f"; ignored: {ignored}" if ignored else ""
        raise ValueError(f"text: nothing in {prompt!r} was understood as a head attribute{detail}")
    return TextResult(spec, used, ignored)
