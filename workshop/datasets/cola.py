"""CoLA, the Corpus of Linguistic Acceptability (Warstadt, Singh and Bowman, 2019): its public release.

`workshop data cola` downloads `cola_public_1.1.zip` once (through `workshop.core.fetch`, into the
workshop's cache folder, resumable) and extracts the three labelled raw TSVs, checked by their
published sizes: in-domain train (8,551 sentences), in-domain dev (527) and out-of-domain dev
(516, the held-out set of the Llama 3 label-word recipe). The files keep CoLA's layout (source,
label, original label, sentence; no header), which `workshop eval classify` and
`workshop.datasets.labels.LabelWords` read as is. No sha256 is pinned (none was published);
the row counts are checked instead.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from workshop.core.errors import WorkshopError
from workshop.core.types import ExistingFile, OutputDir

URL = "https://nyu-mll.github.io/CoLA/cola_public_1.1.zip"
FILES = {"train": ("in_domain_train.tsv", 8551), "dev": ("in_domain_dev.tsv", 527),
         "test": ("out_of_domain_dev.tsv", 516)}  # split: (file in cola_public/raw/, sentences)


def extract_cola(archive: Path, out_dir: Path) -> dict[str, Path]:
    """The raw labelled TSVs of a CoLA zip, each checked by its row count, written atomically to `out_dir`."""
    from workshop.core.io import atomic_write

    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as e:
        raise WorkshopError(f"{archive}: not a readable zip ({e}); delete it and run `workshop data cola` again") from None
    written = {}
    with zf:
        names = set(zf.namelist())
        for split, (name, rows) in FILES.items():
            member = f"cola_public/raw/{name}"
            if member not in names:
                raise WorkshopError(f"{archive}: no {member}; is it CoLA's cola_public_1.1.zip?")
            data = zf.read(member)
            found = sum(1 for line in data.decode("utf-8").splitlines() if line.strip())
            if found != rows:
                raise WorkshopError(f"{archive}: {member} has {found} sentences, CoLA's has {rows}; the file is damaged "
                                    "or not CoLA 1.1")
            written[split] = atomic_write(Path(out_dir) / name, lambda tmp, data=data: tmp.write_bytes(data))
    return written


def download_cola(out_dir: OutputDir = Path("data/cola"), url: str = URL, archive: ExistingFile | None = None) -> dict[str, Path]:
    """Download CoLA's public release and extract its labelled TSVs (train 8,551, dev 527, out-of-domain dev 516).

    Args:
        out_dir: folder for in_domain_train.tsv, in_domain_dev.tsv and out_of_domain_dev.tsv
        url: where cola_public_1.1.zip is downloaded from
        archive: a cola_public_1.1.zip already at hand (offline); no download then
    """
    from workshop.core.fetch import cached_download

    zip_path = Path(archive) if archive is not None else cached_download(url)
    return extract_cola(zip_path, Path(out_dir))
