"""The text door's attribute vocabulary: what words mean and what they drive, per head model.

Each :class:`Attribute` has a name, the issue's category it covers (:data:`CATEGORIES`), keyword phrases and
encoder anchor phrases for its two poles (``+``: "old", ``−``: "young"), and its effects per model kind:

* :class:`Control` — a named control (``identity.age`` in years, ``texture.freckles`` 0..1, ``pose.jaw``
  degrees…): ``delta`` per unit strength toward the ``+`` pole; ``high``/``low`` the value a *new* head gets
  at least/at most for the pole at strength 1 (the spec door; the edit door only adds deltas); ``set`` for
  categorical words ("blue eyes" → ``eye_color = 0.05``).
* :class:`Expression` — ARKit weights (open head) for the ``+`` pole.
* :class:`Measured` — measured directions (:mod:`assetgen.control.directions`): measure → amount in σ of the
  samples' projections per unit strength (sign: the ``+`` pole). FLAME's PCA spaces have no named controls,
  so its shape words and expression words go through these (paper 004 §3.2.2).
* :class:`Unsupported` — understood but not available on this model (reported as ignored, with the reason).

``unipolar`` attributes (expressions, freckles, stubble…) read a negation as *absent* ("not smiling" → the
smile weights set to 0) instead of the opposite pole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Control", "Expression", "Measured", "Unsupported", "Attribute", "VOCABULARY", "CATEGORIES",
           "DEGREE_WORDS", "NEGATIONS", "REJECT_ANCHORS", "by_name"]


@dataclass(frozen=True)
class Control:
    field: str
    delta: float = 0.0
    high: float | None = None
    low: float | None = None
    set: float | tuple | None = None


@dataclass(frozen=True)
class Expression:
    weights: dict


@dataclass(frozen=True)
class Measured:
    space: str
    measures: dict


@dataclass(frozen=True)
class Unsupported:
    reason: str


@dataclass(frozen=True)
class Attribute:
    name: str
    category: str
    plus: tuple[str, ...]
    minus: tuple[str, ...] = ()
    plus_anchors: tuple[str, ...] = ()
    minus_anchors: tuple[str, ...] = ()
    unipolar: bool = False
    open: tuple = ()
    flame: tuple = ()
    pronoun: tuple[str, ...] = field(default=())  # weak keywords (he/she): ignored by the edit door

    def effects(self, kind: str) -> tuple:
        return self.open if kind == "open" else self.flame


#: Degree words → strength multiplier (1 without one).
DEGREE_WORDS = {
    "slightly": 0.5, "a bit": 0.5, "a little": 0.5, "a tad": 0.4, "somewhat": 0.6, "mildly": 0.5, "faintly": 0.4,
    "barely": 0.3, "a touch": 0.4, "kind of": 0.6, "rather": 0.8, "fairly": 0.8, "moderately": 0.8,
    "quite": 1.2, "pretty": 1.2, "very": 1.5, "really": 1.5, "so": 1.4, "much": 1.5, "a lot": 1.5,
    "strongly": 1.6, "heavily": 1.6, "deeply": 1.5, "extremely": 2.0, "super": 1.8, "incredibly": 2.0,
    "hugely": 2.0, "massively": 2.0, "exceptionally": 2.0, "broadly": 1.3, "wildly": 1.8,
}
#: Negation words (a clause containing one before the attribute word negates it).
NEGATIONS = ("not", "no", "without", "never", "non", "n't", "isn't", "doesn't", "don't", "nor", "neither",
             "stop", "lose")

SMILE = {"mouthSmileLeft": 0.8, "mouthSmileRight": 0.8, "cheekSquintLeft": 0.35, "cheekSquintRight": 0.35,
         "eyeSquintLeft": 0.15, "eyeSquintRight": 0.15}
_FLAME_NO_SEX = Unsupported("FLAME's shape space has no labelled sex direction")
_FLAME_NO_BUILD = Unsupported("FLAME has no body build control")


def _m(space: str, **measures: float) -> Measured:
    return Measured(space, measures)


def _both(effect) -> dict:
    return {"open": (effect,), "flame": (effect,)}


def _shape(name, category, plus, minus, pa, ma, **measures) -> Attribute:
    eff = _m("identity", **measures)
    return Attribute(name, category, plus, minus, pa, ma, open=(eff,), flame=(eff,))


VOCABULARY: tuple[Attribute, ...] = (
    Attribute("age", "age", ("old", "older", "elderly", "aged", "aging", "ageing", "senior", "grandfather",
                             "grandmother", "grandpa", "grandma", "retired", "geriatric",
                             "ancient", "wizened"),
              ("young", "younger", "youthful", "youth", "teen", "teenage", "teenager", "twenty-something", "kid",
               "boy", "girl", "lad", "baby-faced", "juvenile"),
              ("an elderly person", "an old grey-haired person", "a senior citizen", "a man in his seventies",
               "a face marked by many years of life"),
              ("a young adult", "a youthful face", "a person in their early twenties", "a fresh-faced student"),
              open=(Control("identity.age", 20.0, 65.0, 22.0),),
              flame=(Control("texture.skin_age", 20.0, 65.0, 22.0), Control("texture.wrinkles", 0.3))),
    Attribute("sex", "sex", ("man", "male", "masculine", "guy", "gentleman", "boy", "lad", "father", "dad",
                             "husband", "king", "sir", "mr", "fisherman", "businessman", "grandfather", "grandpa",
                             "brother", "son", "uncle", "manly", "men"),
              ("woman", "female", "feminine", "lady", "girl", "mother", "mom", "wife", "queen", "madam", "mrs",
               "ms", "grandmother", "grandma", "sister", "daughter", "aunt", "women", "gal"),
              ("a man", "a masculine face", "a bearded gentleman"), ("a woman", "a feminine face", "a lady"),
              open=(Control("identity.sex", 0.3, 0.9, 0.1),), flame=(_FLAME_NO_SEX,),
              pronoun=("he", "him", "his", "she", "her", "hers")),
    Attribute("weight", "build", ("fat", "overweight", "heavy", "heavyset", "chubby", "plump", "obese", "stout",
                                  "portly", "fleshy", "rotund", "heavier", "fatter", "pudgy", "big-boned"),
              ("thin", "skinny", "slim", "slender", "lean", "gaunt", "bony", "skeletal", "emaciated", "thinner",
               "slimmer", "scrawny", "underweight"),
              ("an overweight person", "a chubby round face", "a heavyset build"),
              ("a very thin person", "a lean slim face", "a skinny build"),
              open=(Control("identity.weight", 0.25, 0.85, 0.15),),
              flame=(_m("identity", cheek_fullness=1.0, face_width=0.6),)),
    Attribute("muscle", "build", ("muscular", "athletic", "brawny", "burly", "strong", "buff", "ripped", "beefy",
                                  "stocky", "rugged", "tough", "hulking"),
              ("weak", "frail", "delicate", "feeble", "puny", "willowy", "soft-looking"),
              ("a muscular athlete", "a brawny strongman", "a rugged bodybuilder"),
              ("a frail weak person", "a delicate slight build"),
              open=(Control("identity.muscle", 0.25, 0.85, 0.15),), flame=(_m("identity", jaw_width=1.0),)),
    Attribute("skin_tone", "skin tone", ("dark-skinned", "dark skin", "dark skinned", "black skin", "brown skin",
                                         "tanned", "tan", "dark complexion", "deep skin", "darker skin",
                                         "darker", "swarthy", "ebony", "sun-tanned", "bronzed"),
              ("pale", "fair-skinned", "fair skin", "light skin", "light-skinned", "pale skin", "porcelain",
               "white skin", "pasty", "fair complexion", "lighter skin", "paler", "fair"),
              ("a person with dark brown skin", "a deeply tanned complexion", "an African face"),
              ("a person with very pale skin", "a fair Nordic complexion", "a pale freckled face"),
              **_both(Control("texture.skin_tone", 1.5, 5.0, 1.5))),
    _shape("face_width", "face shape", ("wide face", "broad face", "wide-faced", "broad-faced", "wider face",
                                        "round face", "full face", "moon face", "square face"),
           ("narrow face", "thin face", "long narrow face", "narrow-faced", "slim face", "narrower face"),
           ("a broad round face", "a wide face"), ("a narrow thin face", "a slim narrow face"), face_width=1.0),
    _shape("face_length", "face shape", ("long face", "elongated face", "long-faced", "horse face", "oval face",
                                         "tall face", "longer face"),
           ("short face", "compact face", "squat face", "shorter face"),
           ("a long elongated face",), ("a short compact face",), face_length=1.0),
    _shape("nose_width", "nose", ("wide nose", "broad nose", "flat nose", "flared nostrils", "wide nostrils",
                                  "wider nose", "fat nose", "bulbous nose", "button nose wide", "boxer's nose"),
           ("narrow nose", "thin nose", "slim nose", "pinched nose", "narrower nose", "slender nose",
            "small nostrils"),
           ("a wide flat nose", "a broad nose with flared nostrils"), ("a narrow thin nose", "a slim pointed nose"),
           nose_width=1.0),
    _shape("nose_length", "nose", ("long nose", "big nose", "large nose", "prominent nose", "longer nose",
                                   "huge nose", "pinocchio nose", "beak", "beaky"),
           ("short nose", "small nose", "tiny nose", "button nose", "snub nose", "shorter nose", "upturned nose",
            "little nose"),
           ("a long large nose", "a big prominent nose"), ("a small short button nose", "a tiny snub nose"),
           nose_length=1.0),
    Attribute("nose_hump", "nose", ("hooked nose", "aquiline nose", "roman nose", "hook nose", "beaked nose",
                                    "crooked nose", "nose hump", "humped nose", "eagle nose"),
              ("straight nose", "greek nose"), ("a hooked aquiline nose",), ("a straight nose",),
              open=(Control("identity.nose-hump", 0.5, 0.8, -0.5),),
              flame=(Unsupported("no nose-hump measurement for FLAME yet"),)),
    _shape("eye_size", "eyes", ("big eyes", "large eyes", "wide eyes", "huge eyes", "bigger eyes", "doe eyes",
                                "round eyes"),
           ("small eyes", "narrow eyes", "tiny eyes", "beady eyes", "smaller eyes", "little eyes"),
           ("big round eyes", "large doe eyes"), ("small beady eyes", "little narrow eyes"), eye_size=1.0),
    _shape("eye_distance", "eyes", ("wide-set eyes", "wide set eyes", "far apart eyes", "eyes far apart",
                                    "widely spaced eyes"),
           ("close-set eyes", "close set eyes", "eyes close together", "closely spaced eyes"),
           ("eyes set far apart",), ("eyes set close together",), eye_distance=1.0),
    _shape("brow_height", "brows", ("high brows", "high eyebrows", "high-set brows", "high forehead brows",
                                    "arched brows", "arched eyebrows", "high-arched brows"),
           ("low brows", "low eyebrows", "heavy brow", "heavy brows", "low-set brows", "deep-set brows",
            "overhanging brows", "low brow", "brooding brow", "hooded brows"),
           ("high arched eyebrows",), ("low heavy eyebrows", "a heavy brow ridge"), brow_height=1.0),
    Attribute("brow_density", "brows", ("bushy eyebrows", "bushy brows", "thick eyebrows", "thick brows",
                                        "dense eyebrows", "unibrow", "heavy eyebrows", "bushy"),
              ("thin eyebrows", "sparse eyebrows", "thin brows", "plucked eyebrows", "faint eyebrows",
               "sparse brows", "no eyebrows"),
              ("thick bushy eyebrows",), ("thin sparse plucked eyebrows",),
              **_both(Control("texture.eyebrow_density", 0.3, 0.95, 0.2))),
    _shape("lip_thickness", "lips", ("full lips", "thick lips", "plump lips", "fleshy lips", "big lips",
                                     "fuller lips", "pouty lips", "luscious lips", "thicker lips", "puffy lips"),
           ("thin lips", "narrow lips", "thinner lips", "tight lips", "pencil-thin lips", "small lips"),
           ("full plump lips", "thick luscious lips"), ("thin tight lips",), lip_thickness=1.0),
    _shape("mouth_width", "lips", ("wide mouth", "big mouth", "broad mouth", "wider mouth", "large mouth"),
           ("small mouth", "narrow mouth", "tiny mouth", "little mouth", "rosebud mouth"),
           ("a wide broad mouth",), ("a small narrow mouth",), mouth_width=1.0),
    _shape("jaw_width", "jaw/chin", ("wide jaw", "broad jaw", "square jaw", "strong jaw", "strong jawline",
                                     "square jawline", "chiseled jaw", "chiselled jaw", "heavy jaw",
                                     "lantern jaw", "wider jaw", "square-jawed",
                                     "chiseled", "chiselled"),
           ("narrow jaw", "weak jaw", "small jaw", "delicate jaw", "narrow jawline", "soft jaw", "weak jawline",
            "pointed jaw", "narrower jaw"),
           ("a strong square jaw", "a broad chiseled jawline"), ("a narrow weak jaw", "a delicate small jaw"),
           jaw_width=1.0),
    _shape("chin", "jaw/chin", ("long chin", "big chin", "prominent chin", "strong chin", "protruding chin",
                                "large chin", "jutting chin", "pointy chin", "pointed chin"),
           ("short chin", "small chin", "weak chin", "receding chin", "tiny chin", "no chin"),
           ("a long prominent chin",), ("a small receding chin",), chin_length=1.0),
    _shape("cheeks", "cheeks", ("full cheeks", "chubby cheeks", "round cheeks", "puffy cheeks", "plump cheeks",
                                "fat cheeks", "rosy round cheeks", "apple cheeks", "jowls", "jowly"),
           ("hollow cheeks", "sunken cheeks", "gaunt cheeks", "thin cheeks", "hollow-cheeked", "sunken",
            "high cheekbones", "chiseled cheekbones", "angular cheeks"),
           ("full round chubby cheeks",), ("hollow sunken cheeks", "gaunt face with hollow cheeks"),
           cheek_fullness=1.0),
    _shape("ear_size", "ears", ("big ears", "large ears", "huge ears", "long ears", "prominent ears",
                                "bigger ears", "elephant ears", "jug ears", "dumbo ears", "protruding ears",
                                "sticking-out ears"),
           ("small ears", "tiny ears", "little ears", "short ears", "smaller ears", "dainty ears"),
           ("big prominent ears",), ("small tiny ears",), ear_size=1.0),
    Attribute("freckles", "freckles", ("freckles", "freckled", "freckly", "sun spots", "freckle",
                                       "more freckles", "speckled skin"),
              (), ("a face covered in freckles", "a freckled redhead"), unipolar=True,
              **_both(Control("texture.freckles", 0.35, 0.8, 0.0))),
    Attribute("stubble", "stubble/beard", ("stubble", "beard", "bearded", "stubbly", "unshaven", "five o'clock shadow",
                                           "scruffy", "scruff", "goatee", "mustache", "moustache", "designer stubble",
                                           "whiskers", "bristly", "facial hair"),
              ("clean-shaven", "clean shaven", "shaven", "smooth-shaven", "beardless", "shaved"),
              ("a man with a stubbly beard", "a scruffy unshaven face"), ("a clean-shaven face",), unipolar=True,
              **_both(Control("texture.stubble", 0.35, 0.85, 0.0))),
    Attribute("eyes_blue", "eye colour", ("blue eyes", "blue-eyed", "light blue eyes", "icy eyes", "azure eyes"),
              (), ("piercing blue eyes",), open=(Control("texture.eye_color", set=0.05),),
              flame=(Control("texture.eye_color", set=0.05),)),
    Attribute("eyes_green", "eye colour", ("green eyes", "green-eyed", "grey eyes", "gray eyes", "grey-eyed",
                                           "emerald eyes"),
              (), ("emerald green eyes",), **_both(Control("texture.eye_color", set=0.33))),
    Attribute("eyes_hazel", "eye colour", ("hazel eyes", "hazel-eyed", "amber eyes", "honey eyes"), (),
              ("warm hazel eyes",), **_both(Control("texture.eye_color", set=0.66))),
    Attribute("eyes_brown", "eye colour", ("brown eyes", "brown-eyed", "dark eyes", "dark brown eyes",
                                           "black eyes", "chocolate eyes"),
              (), ("deep dark brown eyes",), **_both(Control("texture.eye_color", set=0.97))),
    Attribute("red_hair", "hair colour", ("red hair", "redhead", "red-haired", "ginger", "auburn", "red beard",
                                          "copper hair"),
              (), ("a ginger redhead",), **_both(Control("texture.hair_redness", set=0.9))),
    Attribute("blond", "hair colour", ("blond", "blonde", "fair hair", "fair-haired", "platinum", "golden hair",
                                       "light hair"),
              (), ("a blonde person",), **_both(Control("texture.hair_darkness", set=0.15))),
    Attribute("dark_hair", "hair colour", ("dark hair", "black hair", "dark-haired", "brunette", "jet-black",
                                           "raven hair", "black beard"),
              (), ("jet black hair",), **_both(Control("texture.hair_darkness", set=0.95))),
    Attribute("wrinkles", "age", ("wrinkles", "wrinkled", "wrinkly", "weathered", "weather-beaten", "lined",
                                  "craggy", "creased", "leathery", "crow's feet", "crows feet", "wizened skin",
                                  "sun-damaged"),
              ("smooth skin", "smooth", "unlined", "wrinkle-free", "baby-faced skin", "flawless skin",
               "smooth-skinned", "porcelain skin"),
              ("a weathered wrinkled face", "deep wrinkles and crow's feet"),
              ("smooth flawless skin",), **_both(Control("texture.wrinkles", 0.45, 1.7, 0.3))),
    # ---------------------------------------------------------------------------------------- expressions
    Attribute("smile", "expression", ("smiling", "smile", "smiles", "grinning", "grin", "grins", "happy",
                                      "cheerful", "joyful", "beaming", "laughing", "smiley", "delighted",
                                      "glad", "jolly", "merry", "content", "pleased", "friendly"),
              (), ("a big happy smile", "grinning from ear to ear", "a cheerful laughing face"), unipolar=True,
              open=(Expression(SMILE),), flame=(_m("expression", mouth_corner=1.5),)),
    Attribute("frown", "expression", ("frowning", "frown", "frowns", "scowling", "scowl", "grumpy", "sullen",
                                      "displeased", "stern", "grim", "glum", "unhappy", "sulking", "pouting"),
              (), ("a grumpy frowning face", "a stern scowl"), unipolar=True,
              open=(Expression({"mouthFrownLeft": 0.7, "mouthFrownRight": 0.7, "browDownLeft": 0.5,
                                "browDownRight": 0.5}),),
              flame=(_m("expression", mouth_corner=-1.5, brow_height=-0.6),)),
    Attribute("angry", "expression", ("angry", "anger", "furious", "enraged", "mad", "rage", "raging", "irate",
                                      "hostile", "livid", "snarling", "fierce", "aggressive", "menacing"),
              (), ("an angry furious face", "a snarling enraged expression"), unipolar=True,
              open=(Expression({"browDownLeft": 0.9, "browDownRight": 0.9, "noseSneerLeft": 0.4,
                                "noseSneerRight": 0.4, "mouthPressLeft": 0.4, "mouthPressRight": 0.4,
                                "eyeSquintLeft": 0.3, "eyeSquintRight": 0.3}),),
              flame=(_m("expression", brow_height=-1.5, brow_furrow=-0.8),)),
    Attribute("surprised", "expression", ("surprised", "surprise", "astonished", "shocked", "amazed", "startled",
                                          "stunned", "awestruck", "in awe", "astounded", "gasping"),
              (), ("a shocked astonished face", "wide-eyed with surprise"), unipolar=True,
              open=(Expression({"browInnerUp": 0.85, "browOuterUpLeft": 0.8, "browOuterUpRight": 0.8,
                                "eyeWideLeft": 0.6, "eyeWideRight": 0.6, "jawOpen": 0.3}),),
              flame=(_m("expression", brow_height=1.5, eye_open=0.8), Control("pose.jaw", set=(10.0, 0.0, 0.0)))),
    Attribute("sad", "expression", ("sad", "sadness", "sorrowful", "crying", "tearful", "melancholy", "depressed",
                                    "gloomy", "miserable", "mournful", "heartbroken", "upset", "weeping", "downcast",
                                    "forlorn", "despondent"),
              (), ("a sad sorrowful face", "a melancholy tearful expression"), unipolar=True,
              open=(Expression({"browInnerUp": 0.7, "mouthFrownLeft": 0.7, "mouthFrownRight": 0.7,
                                "mouthShrugLower": 0.3}),),
              flame=(_m("expression", mouth_corner=-1.5),)),
    Attribute("disgusted", "expression", ("disgusted", "disgust", "revolted", "grossed out", "repulsed",
                                          "sneering", "sneer", "nauseated", "contemptuous", "sickened"),
              (), ("a disgusted grimace", "a revolted sneering face", "reacting to a disgusting smell",
                   "wrinkling the nose in disgust"), unipolar=True,
              open=(Expression({"noseSneerLeft": 0.8, "noseSneerRight": 0.8, "mouthUpperUpLeft": 0.6,
                                "mouthUpperUpRight": 0.6, "browDownLeft": 0.4, "browDownRight": 0.4}),),
              flame=(_m("expression", upper_lip_raise=1.5),)),
    Attribute("wink", "expression", ("winking", "wink", "winks", "one eye closed"), (),
              ("winking with one eye",), unipolar=True,
              open=(Expression({"eyeBlinkLeft": 1.0, "cheekSquintLeft": 0.3, "mouthSmileLeft": 0.3}),),
              flame=(_m("expression", eye_open_left=-2.0),)),
    Attribute("mouth_open", "expression", ("mouth open", "open mouth", "open-mouthed", "mouth agape", "agape",
                                           "gaping", "yawning", "shouting", "screaming", "yelling", "jaw dropped",
                                           "open mouthed", "mouth wide open", "talking", "singing"),
              (), ("with the mouth wide open", "a screaming open mouth"), unipolar=True,
              open=(Expression({"jawOpen": 0.6, "mouthLowerDownLeft": 0.2, "mouthLowerDownRight": 0.2}),),
              flame=(Control("pose.jaw", set=(16.0, 0.0, 0.0)),)),
    Attribute("eyes_closed", "expression", ("eyes closed", "closed eyes", "eyes shut", "sleeping", "asleep",
                                            "blinking", "dozing", "sleepy"),
              (), ("sleeping with eyes closed",), unipolar=True,
              open=(Expression({"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0}),),
              flame=(_m("expression", eye_open=-2.0),)),
    Attribute("pucker", "expression", ("pucker", "puckered", "kissing", "pursed lips", "pouting lips", "kiss",
                                       "duck face"),
              (), ("puckered lips blowing a kiss",), unipolar=True,
              open=(Expression({"mouthPucker": 0.8, "mouthFunnel": 0.3}),),
              flame=(_m("expression", mouth_width=-1.5),)),
    Attribute("fear", "expression", ("scared", "afraid", "fearful", "terrified", "frightened", "horrified",
                                     "anxious", "worried", "panicked", "nervous"),
              (), ("a terrified frightened face",), unipolar=True,
              open=(Expression({"browInnerUp": 0.8, "eyeWideLeft": 0.7, "eyeWideRight": 0.7,
                                "mouthStretchLeft": 0.5, "mouthStretchRight": 0.5, "jawOpen": 0.15}),),
              flame=(_m("expression", brow_height=1.2, eye_open=1.0),)),
    Attribute("raised_brows", "expression", ("raised eyebrows", "raised brows", "eyebrows raised",
                                             "brows raised", "quizzical", "curious", "skeptical", "sceptical"),
              (), ("with raised eyebrows",), unipolar=True,
              open=(Expression({"browInnerUp": 0.6, "browOuterUpLeft": 0.7, "browOuterUpRight": 0.7}),),
              flame=(_m("expression", brow_height=1.5),)),
    Attribute("neutral", "expression", ("neutral expression", "neutral", "expressionless", "blank expression",
                                        "poker face", "deadpan", "straight face", "calm", "relaxed", "serious"),
              (), ("a calm neutral expressionless face",), unipolar=True,
              open=(Expression({}),), flame=(Expression({}),)),
)

#: Non-face phrases: a clause whose best encoder match is one of these is not understood (a reject class).
REJECT_ANCHORS = ("a car", "a house", "a chair", "a table", "the weather", "money", "a computer", "a city",
                  "food", "a tree", "an animal", "the stock market", "a song", "a building", "a phone", "a book",
                  "politics", "a landscape", "a random object", "furniture", "a vehicle", "sports")

#: The issue's attribute list (a test checks every category has at least one attribute).
CATEGORIES = ("age", "sex", "build", "skin tone", "face shape", "nose", "eyes", "brows", "lips", "jaw/chin",
              "cheeks", "ears", "freckles", "stubble/beard", "eye colour", "expression")

_BY_NAME = {a.name: a for a in VOCABULARY}


def by_name(name: str) -> Attribute:
    """The attribute called ``name`` (``KeyError`` otherwise)."""
    return _BY_NAME[name]
