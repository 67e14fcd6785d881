"""What makes a run repeat bit for bit on one machine, set when gankit is first imported (before torch's MKL
reads it; an MKL already in use keeps its mode).

MKL's conditional numerical reproducibility: without STRICT, MKL may choose a GEMM's summation order by its
buffers' alignment, which differs run to run, and five identical runs of mnist-vanilla on an Intel host with
AMX ended in different weights once (docs/reliability.md). AUTO keeps MKL's choice of kernel for this CPU.
A user's own MKL_CBWR wins.
"""

import os

MKL_MODE = "AUTO,STRICT"

os.environ.setdefault("MKL_CBWR", MKL_MODE)
