"""lm-eval's git lookup is silent outside a git repository; everything else on stderr still shows."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from workshop.evals.quiet import GIT_NOISE, copy_without, without_git_noise


def test_a_child_gits_noise_is_dropped_and_the_rest_kept(tmp_path, capfd):
    with without_git_noise():
        subprocess.run([sys.executable, "-c", "import sys; sys.stderr.write('fatal: not a git repository (or any of "
                        "the parent directories): .git\\nloglikelihood: 100%\\n')"], cwd=tmp_path, check=True)
        print("\rRequesting API: 3/4", end="", file=sys.stderr, flush=True)
    err = capfd.readouterr().err
    assert err == "loglikelihood: 100%\n\rRequesting API: 3/4"


def test_lines_split_across_reads_are_judged_whole():
    noise, keep = GIT_NOISE + b" (or any of the parent directories): .git\n", b"fatal: other trouble\n"
    source_r, source_w = os.pipe()
    sink_r, sink_w = os.pipe()
    pump = threading.Thread(target=copy_without, args=(source_r, sink_w, GIT_NOISE))
    pump.start()
    for part in (noise[:10], noise[10:] + keep[:3], keep[3:], b"\rbar"):
        os.write(source_w, part)
        time.sleep(0.05)  # separate reads on the other side
    os.close(source_w)
    pump.join()
    os.close(sink_w)
    assert os.read(sink_r, 1000) == keep + b"\rbar"
