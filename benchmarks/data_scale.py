"""Data that outgrows memory: today's decode-everything loader against the prepared cache, at N images.

For each N (synthetic 64x64 RGB PNGs; their content does not matter), each case runs in a fresh process:

    decode      data.cache=false: every file decoded at start, one process, all in memory (the loader before the cache)
    prepare     the first run with data.cache=true: decoded in parallel into the cache, then streamed from disk
    cached      a second run: the cache opened (whole in memory when under 1 GiB, else streamed from disk)
    streamed    a second run with data.in_memory=false: batches read from disk whatever the size

and reports the seconds spent building the data set (decode, prepare or open), the seconds from the process's
start to its first training step, the steady images/s of
celeba-dcgan's step (64x64 DCGAN, the preset for image folders) over `--steps` steps after 5, and the process's
peak RSS. Ratios are against `decode` in the same run. Run it alone on the machine.

    python -m benchmarks.data_scale --counts 10000 50000 200000 --work /tmp/data_scale
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

CASES = {
    "decode": ["data.cache=false"],
    "prepare": ["data.cache=true"],
    "cached": ["data.cache=true"],
    "streamed": ["data.cache=true", "data.in_memory=false"],
}


def _write_pngs(args: tuple[Path, int, int]) -> None:
    from PIL import Image

    folder, start, stop = args
    rng = np.random.default_rng(start)
    for i in range(start, stop):
        small = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)  # smooth-ish: PNGs of a few KB, like photos
        Image.fromarray(small).resize((64, 64), Image.Resampling.BILINEAR).save(folder / f"{i:07d}.png")


def make_folder(folder: Path, n: int) -> Path:
    """n PNGs in `folder` (kept between runs: only the missing ones are written)."""
    folder.mkdir(parents=True, exist_ok=True)
    have = len(list(folder.glob("*.png")))
    if have < n:
        step = 5000
        with ProcessPoolExecutor() as pool:
            list(pool.map(_write_pngs, [(folder, s, min(s + step, n)) for s in range(have, n, step)]))
    return folder


CHILD = """
import json, sys, time
started = float(sys.argv[1])
from gankit import load_config
from gankit.data import build_data
from gankit.training.builder import new_trainer
config = load_config("celeba-dcgan", overrides=json.loads(sys.argv[2]))
t = time.perf_counter()
data = build_data(config.data, 0)
load = time.perf_counter() - t
trainer = new_trainer(config, sys.argv[3], data=data)
batches = trainer.sampler.endless()
real, labels = next(batches)
trainer.train_step(real, labels)
first = time.time() - started
for _ in range(4):
    trainer.train_step(*next(batches))
steps = int(sys.argv[4])
t = time.perf_counter()
for _ in range(steps):
    trainer.train_step(*next(batches))
rate = steps * config.train.batch_size / (time.perf_counter() - t)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
print(json.dumps({"load_s": load, "first_step_s": first, "img_s": rate, "peak_rss_mb": peak}))
"""


def run_case(folder: Path, cache: Path, out: Path, overrides: list[str], steps: int) -> dict:
    settings = [
        "data.name=folder", f"data.root={folder}", "data.resolution=64", f"data.cache_dir={cache}",
        "log.grid_size=16", *overrides,
    ]  # fmt: skip
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(started), json.dumps(settings), str(out), str(steps)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[10000, 50000, 200000])
    parser.add_argument("--work", default="/tmp/data_scale", help="where the PNGs, caches and runs go")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per case")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES), help="decode first if given")
    args = parser.parse_args(argv)
    work = Path(args.work)
    print(
        "| images | case | data s | to first step s | steady img/s | peak RSS MB | data s vs decode | img/s vs decode |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for n in args.counts:
        folder = make_folder(work / f"png_{n}", n)
        cache = work / f"cache_{n}"
        subprocess.run(["rm", "-rf", str(cache)], check=True)
        results = {}
        for case in args.cases:
            results[case] = r = run_case(folder, cache, work / "runs", CASES[case], args.steps)
            base = results.get("decode", r)
            print(
                f"| {n:,} | {case} | {r['load_s']:.1f} | {r['first_step_s']:.1f} | {r['img_s']:.0f} | "
                f"{r['peak_rss_mb']:.0f} | {r['load_s'] / base['load_s']:.2f} | {r['img_s'] / base['img_s']:.2f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
