"""Text → expression sequence: "smiles, then blinks twice and looks left" → a :class:`Sequence`.

    r = sequence_from_text("smiles, then blinks twice and looks left", model)
    r.sequence, r.actions, r.ignored      # Sequence 'text' (s, ARKit / FLAME, radians), what was understood, not

How a prompt is read (the same reading as the head text door, :mod:`assetgen.control.text`, whose degree words
and sentence encoder it shares):

1. **Steps** play one after another: the prompt is split at ``then``, ``after that``, ``afterwards``, ``next``,
   ``finally``, ``followed by``, commas and sentence ends.
2. **Simultaneous actions** inside a step are joined by ``and``, ``while``, ``as``, ``with``, ``plus``: the
   longest one is the base and the others are layered over it from the step's start (additive blend).
3. **Actions** (:data:`ACTIONS`) are found by keywords, longest first ("shakes his head" before "shakes"); a
   clause with no keyword is embedded with the offline sentence encoder (all-MiniLM-L6-v2) and matched to each
   action's anchor phrases when the cosine similarity reaches :data:`THRESHOLD` ("beams with joy" → smile).
4. **Modifiers** in the same clause: counts ("twice", "3 times"), durations ("for 2 seconds", "briefly"),
   speed ("slowly" ×0.6, "quickly" ×1.6), degree words ("slightly" 0.5, "very" 1.5 … from
   :data:`assetgen.control.text_vocab.DEGREE_WORDS`, plus "big", "wide", "subtle"…) that scale weights and
   rotation angles, sides and directions ("winks left", "looks up", "turns her head right": the head's own
   left and right). A negation before the action ("doesn't smile", "not blinking") leaves it out and says so.

Every action is a self-contained gesture that starts and ends at rest. Actions that move ARKit blendshapes are
converted for FLAME heads through the ARKit→FLAME mapping when the model has one
(:func:`assetgen.animation.retarget.arkit_mapping`), otherwise they are reported in ``ignored``; rotations
(look, nod, shake, turn, tilt) always work. A prompt with nothing understood raises ``ValueError`` naming
``text`` — never a random clip.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from assetgen.animation.presets import _mappable, _pair, pose_clip, preset
from assetgen.animation.sequence import Sequence
from assetgen.animation.to_asset import target_kind
from assetgen.control.text import MAX_PROMPT_CHARS
from assetgen.control.text_vocab import DEGREE_WORDS

__all__ = ["ACTIONS", "ActionInfo", "Understood", "TextSequenceResult", "sequence_from_text", "parse_actions",
           "THRESHOLD", "MAX_TOTAL_S"]

#: Cosine similarity a keyword-less clause needs with an action's anchor phrase (all-MiniLM-L6-v2).
THRESHOLD = 0.5
#: Longest clip a prompt may make, seconds.
MAX_TOTAL_S = 600.0

_DIRECTIONS = ("left", "right", "up", "down")


@dataclass(frozen=True)
class Gesture:
    """What a builder is asked for: ``duration`` s (``None`` = the action's default), ``fps``, ``seed``,
    ``direction`` (``left``/``right``/``up``/``down`` or ``None``)."""

    duration: float | None
    fps: float
    seed: int
    direction: str | None


@dataclass(frozen=True)
class ActionInfo:
    """One action: ``keywords`` (regular expressions, matched on lower-case text), ``anchors`` (phrases for the
    encoder), ``build(Gesture) -> Sequence`` at unit strength, ``arkit``: moves ARKit blendshapes (needs the
    open head or an ARKit mapping for FLAME), ``needs_direction``: the keyword must come with a direction."""

    name: str
    keywords: tuple[str, ...]
    anchors: tuple[str, ...]
    build: Callable[[Gesture], Sequence]
    arkit: bool = True
    needs_direction: bool = False


def _hold(weights, name, default, ramp=0.25, jaw=0.0, rotations=None):
    def build(g: Gesture) -> Sequence:
        return pose_clip(weights, g.duration or default, g.fps, name, ramp=ramp, jaw=jaw, rotations=rotations)
    return build


def _preset(name: str):
    def build(g: Gesture) -> Sequence:
        return preset(name, "open", duration=g.duration, fps=g.fps, seed=g.seed)
    return build


_LOOK = {"left": (0.0, 0.35), "right": (0.0, -0.35), "up": (-0.25, 0.0), "down": (0.25, 0.0)}  # (pitch, yaw) rad


def _look(g: Gesture) -> Sequence:
    pitch, yaw = _LOOK[g.direction or "left"]
    w = {"eyeLookOutLeft": max(yaw, 0) / 0.35, "eyeLookInRight": max(yaw, 0) / 0.35,
         "eyeLookInLeft": max(-yaw, 0) / 0.35, "eyeLookOutRight": max(-yaw, 0) / 0.35,
         **_pair("eyeLookUp", max(-pitch, 0) / 0.25), **_pair("eyeLookDown", max(pitch, 0) / 0.25)}
    w = {k: v for k, v in w.items() if v > 0}
    rot = {"eye_left": (pitch, yaw, 0.0), "eye_right": (pitch, yaw, 0.0)}
    return pose_clip(w, g.duration or 1.5, g.fps, f"look_{g.direction or 'left'}", ramp=0.2, rotations=rot)


def _turn(g: Gesture) -> Sequence:
    axis = {"left": (0.0, 0.5, 0.0), "right": (0.0, -0.5, 0.0), "up": (-0.3, 0.0, 0.0), "down": (0.3, 0.0, 0.0)}
    return pose_clip({}, g.duration or 1.5, g.fps, "turn_head", ramp=0.4,
                     rotations={"neck": axis[g.direction or "left"]})


def _tilt(g: Gesture) -> Sequence:
    roll = 0.25 if g.direction == "right" else -0.25  # +z lowers the head's right side (right shoulder)
    return pose_clip({}, g.duration or 1.5, g.fps, "tilt_head", ramp=0.4, rotations={"neck": (0.0, 0.0, roll)})


def _wink(g: Gesture) -> Sequence:
    side = "Right" if g.direction == "right" else "Left"
    return pose_clip({f"eyeBlink{side}": 1.0, f"cheekSquint{side}": 0.3, f"mouthSmile{side}": 0.2},
                     g.duration or 0.6, g.fps, "wink", ramp=0.1)


def _rest(g: Gesture) -> Sequence:
    d = g.duration or 1.0
    n = int(np.floor(d * g.fps + 1e-6))
    times = np.arange(n + 1) / g.fps
    if d - times[-1] > 1e-6:
        times = np.append(times, d)
    return Sequence(times, rotations={"neck": np.zeros((times.size, 3))}, name="rest")


_OBJ = r"(?:(?:his|her|their|the|its|one's)\s+)?"
ACTIONS: dict[str, ActionInfo] = {a.name: a for a in (
    ActionInfo("smile", (r"smil(?:e|es|ed|ing)", r"grin(?:s|ned|ning)?", r"beam(?:s|ed|ing)?",
                         r"laugh(?:s|ed|ing)?", r"chuckl(?:e|es|ed|ing)", r"giggl(?:e|es|ed|ing)"),
               ("smiles happily", "looks happy", "a happy expression", "laughs", "is pleased"), _preset("smile")),
    ActionInfo("blink", (r"blink(?:s|ed|ing)?",), ("bats the eyelids", "flutters the eyelids"), _preset("blink")),
    ActionInfo("wink", (r"wink(?:s|ed|ing)?",), ("gives a wink",), _wink),
    ActionInfo("frown", (r"frown(?:s|ed|ing)?", r"scowl(?:s|ed|ing)?", r"sad(?:ly)?", r"sulk(?:s|ed|ing)?"),
               ("looks sad", "is unhappy", "looks displeased", "is upset"), _preset("frown")),
    ActionInfo("surprise", (r"surprised?", r"gasp(?:s|ed|ing)?", r"shocked", r"astonished", r"amazed",
                            r"startled"), ("is taken aback", "cannot believe it", "is stunned"), _preset("surprise")),
    ActionInfo("anger", (r"angry", r"angrily", r"anger", r"glar(?:e|es|ed|ing)", r"furious(?:ly)?", r"rag(?:e|es|ing)",
                         r"mad"), ("is enraged", "gets cross", "looks hostile", "is irritated"), _preset("anger")),
    ActionInfo("disgust", (r"disgust(?:ed)?", r"grimac(?:e|es|ed|ing)", r"sneer(?:s|ed|ing)?", r"revolted"),
               ("finds it gross", "is repulsed", "says yuck"), _preset("disgust")),
    ActionInfo("talk", (r"talk(?:s|ed|ing)?", r"speak(?:s|ing)?", r"spoke", r"say(?:s|ing)?", r"said",
                        r"chat(?:s|ted|ting)?", r"mutter(?:s|ed|ing)?", r"whisper(?:s|ed|ing)?",
                        r"sing(?:s|ing)?", r"mouth(?:s|ed|ing)? words", r"shout(?:s|ed|ing)?",
                        r"yell(?:s|ed|ing)?", r"hum(?:s|med|ming)?"),
               ("has a conversation", "tells a story", "explains something", "answers a question"),
               _preset("talk")),
    ActionInfo("look_around", (r"looks?\s+around", r"looking\s+around", r"looked\s+around", r"glanc(?:e|es|ed|ing)\s+around",
                               r"scan(?:s|ned|ning)?\s+the\s+room"), ("searches with the eyes", "gazes about"),
               _preset("look_around"), arkit=False),
    ActionInfo("look", (r"look(?:s|ed|ing)?", r"glanc(?:e|es|ed|ing)", r"gaz(?:e|es|ed|ing)", r"peek(?:s|ed|ing)?",
                        r"eyes?\s+(?:dart|move|go)(?:s)?"), (), _look, arkit=False, needs_direction=True),
    ActionInfo("nod", (r"nod(?:s|ded|ding)?",), ("agrees", "says yes", "approves"), _preset("nod"), arkit=False),
    ActionInfo("shake", (r"shak(?:e|es|ing)\s+" + _OBJ + r"head", r"shook\s+" + _OBJ + r"head",
                         r"head\s+shak(?:e|es|ing)"), ("says no", "disagrees", "refuses"), _preset("shake"),
               arkit=False),
    ActionInfo("turn_head", (r"turn(?:s|ed|ing)?\s+" + _OBJ + r"head", r"turn(?:s|ed|ing)?\s+(?:to\s+)?(?:the\s+)?",
                             r"rotat(?:e|es|ed|ing)\s+" + _OBJ + r"head"), (), _turn, arkit=False, needs_direction=True),
    ActionInfo("tilt_head", (r"tilt(?:s|ed|ing)?\s+" + _OBJ + r"head", r"tilt(?:s|ed|ing)?", r"cock(?:s|ed|ing)?\s+"
                             + _OBJ + r"head"), ("leans the head to one side",), _tilt, arkit=False),
    ActionInfo("raise_brows", (r"rais(?:e|es|ed|ing)\s+" + _OBJ + r"(?:eye)?brows?", r"(?:eye)?brows?\s+(?:go|goes|went)\s+up",
                               r"lift(?:s|ed|ing)?\s+" + _OBJ + r"(?:eye)?brows?"),
               ("arches the eyebrows", "looks curious"), _hold({"browInnerUp": 0.9, **_pair("browOuterUp", 0.8)},
                                                               "raise_brows", 1.2, ramp=0.2)),
    ActionInfo("open_mouth", (r"open(?:s|ed|ing)?\s+" + _OBJ + r"mouth", r"jaw\s+drops?", r"drops?\s+" + _OBJ + r"jaw",
                              r"yawn(?:s|ed|ing)?"), ("opens wide",),
               _hold({"jawOpen": 0.7}, "open_mouth", 1.2, ramp=0.3, jaw=0.7)),
    ActionInfo("close_eyes", (r"clos(?:e|es|ed|ing)\s+" + _OBJ + r"eyes", r"shut(?:s|ting)?\s+" + _OBJ + r"eyes",
                              r"eyes\s+closed"), ("falls asleep", "dozes off"),
               _hold(_pair("eyeBlink", 1.0), "close_eyes", 1.5, ramp=0.2)),
    ActionInfo("pout", (r"pout(?:s|ed|ing)?", r"pucker(?:s|ed|ing)?", r"kiss(?:es|ed|ing)?", r"purs(?:e|es|ed|ing)\s+"
                        + _OBJ + r"lips"), ("blows a kiss",), _hold({"mouthPucker": 0.9, "mouthFunnel": 0.2}, "pout", 1.2)),
    ActionInfo("puff_cheeks", (r"puff(?:s|ed|ing)?\s+(?:out\s+)?" + _OBJ + r"cheeks", r"puff(?:s|ed|ing)?"),
               ("holds the breath",), _hold({"cheekPuff": 0.9, "mouthClose": 0.3}, "puff_cheeks", 1.2)),
    ActionInfo("tongue_out", (r"stick(?:s|ing)?\s+out\s+" + _OBJ + r"tongue", r"stuck\s+out\s+" + _OBJ + r"tongue",
                              r"tongue\s+out"), ("blows a raspberry",),
               _hold({"tongueOut": 1.0, "jawOpen": 0.3}, "tongue_out", 1.2, jaw=0.3)),
    ActionInfo("idle", (r"idl(?:e|es|ing)", r"fidget(?:s|ing)?", r"breath(?:e|es|ing)"), ("waits patiently",),
               _preset("idle")),
    ActionInfo("rest", (r"paus(?:e|es|ed|ing)", r"wait(?:s|ed|ing)?", r"rest(?:s|ing)?", r"hold(?:s|ing)?\s+still",
                        r"stay(?:s|ing)?\s+still", r"freez(?:e|es|ing)"), (), _rest, arkit=False),
)}

_EXTRA_DEGREE = {"big": 1.3, "wide": 1.3, "broad": 1.3, "huge": 1.6, "small": 0.6, "subtle": 0.5, "subtly": 0.5,
                 "gently": 0.6, "softly": 0.6, "hard": 1.4, "firmly": 1.3, "faint": 0.4, "slight": 0.5}
_DEGREES = {**DEGREE_WORDS, **_EXTRA_DEGREE}
_DEGREE_RE = re.compile(r"(?<![\w'])(" + "|".join(re.escape(d) for d in sorted(_DEGREES, key=len, reverse=True))
                        + r")(?![\w'])")
_NEG_RE = re.compile(r"(?<![\w'])(?:not|no|never|without|stops?|stopped|n't|nor)(?![\w'])|n't")
_STEP_RE = re.compile(r"[,;.!?]+|(?<![\w'])(?:and\s+then|then|after\s+that|afterwards?|next|finally|"
                      r"followed\s+by|later)(?![\w'])")
_SIM_RE = re.compile(r"(?<![\w'])(?:and|while|as|with|plus|at\s+the\s+same\s+time)(?![\w'])")
_NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
        "ten": 10, "a couple of": 2, "a few": 3, "several": 3}
_COUNT_RE = re.compile(r"(?<![\w'])(?:(once)|(twice)|(thrice)|(\d{1,2}|" + "|".join(_NUM) + r")\s+times)(?![\w'])")
_DUR_RE = re.compile(r"(?<![\w'])for\s+(?:(\d+(?:\.\d+)?)|(a|an|one|two|three|four|five|ten|half\s+a))\s*"
                     r"(seconds?|secs?|s|minutes?|mins?|moments?)(?![\w'])")
_SPEED = {"slowly": 0.6, "slow": 0.6, "leisurely": 0.6, "quickly": 1.6, "quick": 1.6, "fast": 1.6,
          "rapidly": 1.8, "rapid": 1.8, "briskly": 1.4}
_SPEED_RE = re.compile(r"(?<![\w'])(" + "|".join(_SPEED) + r")(?![\w'])")
_BRIEF_RE = re.compile(r"(?<![\w'])(?:briefly|for\s+a\s+split\s+second|momentarily)(?![\w'])")
_DIR_RE = re.compile(r"(?<![\w'])(left|right|up|upwards?|down|downwards?|away|sideways)(?![\w'])")


@dataclass(frozen=True)
class Understood:
    """One understood action of a prompt.

    Attributes:
        text: the words it came from; action: an :data:`ACTIONS` name; step: 0-based step index (steps play in
            order); count: repetitions; degree: strength multiplier (weights and angles); speed: playback speed
            (2 = twice as fast); duration: requested seconds or ``None``; direction: ``left``/``right``/``up``/
            ``down`` or ``None``; source: ``"keyword"`` or ``"encoder"``; score: the encoder similarity.
    """

    text: str
    action: str
    step: int
    count: int = 1
    degree: float = 1.0
    speed: float = 1.0
    duration: float | None = None
    direction: str | None = None
    source: str = "keyword"
    score: float | None = None


@dataclass(frozen=True)
class TextSequenceResult:
    """``sequence``: the clip (named ``name``); ``actions``: what was understood, in order; ``ignored``: the
    phrases left out, each with the reason."""

    sequence: Sequence
    actions: tuple[Understood, ...]
    ignored: tuple[str, ...]


@functools.lru_cache(maxsize=1)
def _keyword_table() -> list[tuple[re.Pattern, str]]:
    rows = [(k, a.name) for a in ACTIONS.values() for k in a.keywords]
    rows.sort(key=lambda r: -len(r[0]))
    return [(re.compile(r"(?<![\w'])" + k + r"(?![\w'])"), name) for k, name in rows]


@functools.lru_cache(maxsize=1)
def _anchors() -> tuple[np.ndarray, tuple[str, ...]]:
    from assetgen.control.text_encoder import encode

    names, phrases = [], []
    for a in ACTIONS.values():
        for p in a.anchors + (() if a.needs_direction else tuple(_plain_keywords(a))):
            names.append(a.name)
            phrases.append(p)
    return encode(phrases), tuple(names)


def _plain_keywords(a: ActionInfo) -> list[str]:
    """The first keyword as a plain word when it is one (an encoder anchor too): ``smil(?:e|es|ed)`` → ``smile``."""
    out = []
    for k in a.keywords[:1]:
        word = re.sub(r"\(\?:([^|)]*)\|?[^)]*\)\??", r"\1", k).replace("\\s+", " ").replace("?", "")
        if re.fullmatch(r"[a-z ]+", word):
            out.append(word)
    return out


def _direction(clause: str) -> str | None:
    m = _DIR_RE.search(clause)
    if not m:
        return None
    w = m.group(1)
    return {"upward": "up", "upwards": "up", "downward": "down", "downwards": "down", "away": "right",
            "sideways": "left"}.get(w, w)


def _modifiers(clause: str) -> dict:
    out: dict = {}
    m = _COUNT_RE.search(clause)
    if m:
        word = m.group(4)
        out["count"] = (1 if m.group(1) else 2 if m.group(2) else 3 if m.group(3) else
                        int(word) if word.isdigit() else _NUM[word])
    m = _DUR_RE.search(clause)
    if m:
        n = float(m.group(1)) if m.group(1) else {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4,
                                                   "five": 5, "ten": 10}.get(m.group(2), 0.5)
        unit = m.group(3)
        out["duration"] = n * (60.0 if unit.startswith("min") else 1.0)
    elif _BRIEF_RE.search(clause):
        out["brief"] = True
    m = _SPEED_RE.search(clause)
    if m:
        out["speed"] = _SPEED[m.group(1)]
    degrees = [_DEGREES[d] for d in _DEGREE_RE.findall(clause)]
    if degrees:
        out["degree"] = float(np.prod(degrees))
    return out


def _split(prompt: str) -> list[list[str]]:
    """Steps, each a list of simultaneous clauses (lower case, stripped)."""
    steps = []
    for part in _STEP_RE.split(prompt.lower()):
        clauses = [c.strip() for c in _SIM_RE.split(part) if c and c.strip()]
        if clauses:
            steps.append(clauses)
    return steps


def parse_actions(prompt: str, *, use_encoder: bool = True) -> tuple[list[Understood], list[str]]:
    """``(understood, ignored)`` for ``prompt`` without building anything (see the module docstring)."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("text: expected a non-empty description of the motion, e.g. 'smiles, then blinks twice'")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ValueError(f"text: expected at most {MAX_PROMPT_CHARS} characters, got {len(prompt)}")
    understood: list[Understood] = []
    ignored: list[str] = []
    pending: list[tuple[int, str]] = []
    for step, clauses in enumerate(_split(prompt)):
        for clause in clauses:
            found = _find_keywords(clause)
            if not found:
                pending.append((step, clause))
                continue
            mods = _modifiers(clause)
            for start, end, name in found:
                info = ACTIONS[name]
                words = clause[start:end]
                if _NEG_RE.search(clause[:start]):
                    ignored.append(f"{clause!r}: negated, nothing to animate")
                    continue
                direction = _direction(clause)
                if info.needs_direction and direction is None:
                    ignored.append(f"{words!r}: needs a direction (left, right, up or down)")
                    continue
                understood.append(_understood(words, name, step, mods, direction))
    if pending and use_encoder:
        understood_enc, ignored_enc = _encode_clauses(pending)
        understood += understood_enc
        ignored += ignored_enc
    elif pending:
        ignored += [f"{c!r}: no action recognised" for _, c in pending]
    understood.sort(key=lambda u: u.step)  # stable: clause order kept inside a step
    return understood, ignored


def _find_keywords(clause: str) -> list[tuple[int, int, str]]:
    taken = np.zeros(len(clause) + 1, bool)
    found = []
    for rx, name in _keyword_table():
        for m in rx.finditer(clause):
            if taken[m.start():m.end()].any():
                continue
            if ACTIONS[name].needs_direction and _direction(clause[m.end():m.end() + 24]) is None:
                continue  # "looks happy", "turns to her friend": not a look/turn with a direction
            taken[m.start():m.end()] = True
            found.append((m.start(), m.end(), name))
    found.sort()
    return found


def _understood(words: str, name: str, step: int, mods: dict, direction, source="keyword", score=None):
    duration = mods.get("duration")
    speed = mods.get("speed", 1.0)
    if mods.get("brief"):
        speed *= 1.6
    return Understood(words, name, step, count=int(mods.get("count", 1)), degree=float(mods.get("degree", 1.0)),
                      speed=float(speed), duration=duration, direction=direction, source=source, score=score)


def _encode_clauses(pending: list[tuple[int, str]]) -> tuple[list[Understood], list[str]]:
    from assetgen.control.text_encoder import encode

    anchors, names = _anchors()
    sims = encode([c for _, c in pending]) @ anchors.T
    out, ignored = [], []
    for (step, clause), row in zip(pending, sims):
        best = int(np.argmax(row))
        if row[best] >= THRESHOLD and not _NEG_RE.search(clause):
            out.append(_understood(clause, names[best], step, _modifiers(clause), _direction(clause),
                                   source="encoder", score=round(float(row[best]), 3)))
        else:
            why = "negated, nothing to animate" if _NEG_RE.search(clause) else "no action recognised"
            ignored.append(f"{clause!r}: {why}")
    return out, ignored


def _scale(seq: Sequence, degree: float) -> Sequence:
    if degree == 1.0:
        return seq
    return seq.replace(weights=np.clip(seq.weights * degree, 0.0, 1.0) if seq.kind == "arkit" else
                       seq.weights * degree, rotations={j: r * degree for j, r in seq.rotations.items()})


def _build(u: Understood, fps: float, seed: int) -> Sequence:
    info = ACTIONS[u.action]
    if u.duration is not None and u.duration > MAX_TOTAL_S:
        raise ValueError(f"text: {u.text!r} asks for {u.duration:g} s; at most {MAX_TOTAL_S:g} s")
    duration = None if u.duration is None else float(np.clip(u.duration * u.speed, 0.6, MAX_TOTAL_S))
    seq = info.build(Gesture(duration, fps, seed, u.direction))
    seq = _scale(seq, u.degree)
    if u.count > 1:
        seq = seq.loop(u.count)
    if u.speed != 1.0:
        seq = seq.retime(u.speed).resample(fps)
    return seq.replace(name=u.action)


def sequence_from_text(prompt: str, model=None, *, fps: float = 30.0, seed: int = 0, name: str = "text",
                       use_encoder: bool = True) -> TextSequenceResult:
    """The clip described by ``prompt`` for ``model`` (head model, ``HeadAsset``, ``"open"``/``"flame"``;
    ``None`` = open head), sampled at ``fps`` from 0 s; ``seed`` drives the random gestures (talk, idle).
    ``ValueError`` naming ``text`` when nothing is understood, ``fps`` outside 1..240."""
    fps = float(fps)
    if not np.isfinite(fps) or not 1 <= fps <= 240:
        raise ValueError(f"fps: expected 1..240, got {fps:g}")
    kind = target_kind(model)
    understood, ignored = parse_actions(prompt, use_encoder=use_encoder)
    convert = None
    if kind == "flame" and _mappable(model):
        from assetgen.animation.retarget import arkit_mapping

        convert = arkit_mapping(model).convert
    kept, steps = [], {}
    for u in understood:
        seq = _build(u, fps, seed)
        if kind == "flame" and seq.channels:
            if convert is not None:
                seq = convert(seq)
            elif ACTIONS[u.action].arkit and not seq.rotations:
                ignored.append(f"{u.text!r}: {u.action} moves ARKit blendshapes; pass the loaded FLAME model "
                               f"(for its ARKit mapping), not {model!r}")
                continue
            else:
                seq = seq.replace(channels=(), weights=None)
        kept.append(u)
        steps.setdefault(u.step, []).append(seq)
    if not kept:
        said = "; ".join(ignored) if ignored else "no action words"
        raise ValueError(f"text: nothing in {prompt!r} could be animated ({said}); actions: "
                         f"{', '.join(ACTIONS)}")
    clip = None
    for step in sorted(steps):
        parts = sorted(steps[step], key=lambda s: -s.duration)
        layer = parts[0]
        for other in parts[1:]:
            layer = layer.blend(other, mode="add")
        clip = layer if clip is None else clip.concat(layer)
    if clip.duration > MAX_TOTAL_S:
        raise ValueError(f"text: the described motion lasts {clip.duration:.1f} s; at most {MAX_TOTAL_S:g} s")
    return TextSequenceResult(clip.replace(name=name), tuple(kept), tuple(ignored))

