"""Write ``samples/livelink_take.csv``: a SYNTHETIC Live Link Face capture (not a recording).

It is the ``talk`` preset (seed 7, 4 s) with a blink layered at 1.2 s, the eyes looking around and a nod,
sampled at 60 fps and written by :func:`assetgen.animation.write_livelink_csv` with a 60 fps timecode starting
at 14:03:20:00. Re-run ``python samples/make_livelink_take.py`` to regenerate it (deterministic).
"""

from pathlib import Path

from assetgen.animation import preset, write_livelink_csv


def main() -> Path:
    d = 4.0
    seq = preset("talk", duration=d, fps=60, seed=7)
    seq = seq.blend(preset("blink", fps=60), offset=1.2).blend(preset("look_around", duration=d, fps=60))
    seq = seq.blend(preset("nod", duration=d, fps=60), name="livelink_take")
    seq = seq.replace(rotations={k: v for k, v in seq.rotations.items() if k != "jaw"})
    out = Path(__file__).with_name("livelink_take.csv")
    write_livelink_csv(seq, out, timecode_fps=60, start=14 * 3600 + 3 * 60 + 20)
    return out


if __name__ == "__main__":
    print(main())
