"""Peak memory of one big uncrop job: a ~10 MP, ~25 MB PNG through Clipdrop Uncrop.

    .venv/bin/python benchmarks/memory.py

The sandbox and moto S3 run as separate processes (their memory is not counted). The image is
made in a child process and copied into MEDIA_ROOT by the OS, so its decoding does not count
either. Then one ``jobs.create_jobs("uncrop", objects=[photo])`` runs inline (validation, the
vendor call, storing the result on S3) and the peak RSS of this process (``ru_maxrss``) is
compared with its RSS just before.

Prints the file size, the peak RSS growth and, last, ``ratio X.XX`` (growth / file size;
goal <= 3).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from overhead import servers, setup_django  # noqa: E402


def make_image(path: Path, megapixels: float, target_bytes: int) -> None:
    """Write a PNG of about ``megapixels`` whose size is about ``target_bytes`` (run in a child
    process, so its memory is not counted): a gradient with a band of noise, the noise being
    what makes a file that big."""
    import io

    from PIL import Image

    width = int((megapixels * 1_000_000 * 4 / 3) ** 0.5)
    height = int(width * 3 / 4)
    band = min(height, int(target_bytes / (width * 3)) + 1)
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    image.paste(Image.frombytes("RGB", (width, band), os.urandom(width * band * 3)), (0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    path.write_bytes(buffer.getvalue())


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megapixels", type=float, default=9.9)
    parser.add_argument("--bytes", type=int, default=25_000_000, help="target file size")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="imageops-bench-memory-"))
    try:
        source = workdir / "big.png"
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; sys.path.insert(0, sys.argv[1]); from memory import make_image; "
                "from pathlib import Path; make_image(Path(sys.argv[2]), float(sys.argv[3]), "
                "int(sys.argv[4]))",
                str(HERE),
                str(source),
                str(args.megapixels),
                str(args.bytes),
            ],
            check=True,
        )
        size = source.stat().st_size
        with servers() as (sandbox_url, s3_url):
            setup_django(sandbox_url, s3_url, workdir)
            from django.core.files.base import ContentFile

            from django_imageops import jobs
            from tests.conftest import make_image as small_image
            from tests.testapp.models import Photo

            # Warm up: imports, connections, first queries, with a small image.
            warm = Photo(title="warm")
            warm.image.save("warm.png", ContentFile(small_image(200, 150)), save=True)
            jobs.create_jobs("uncrop", objects=[warm], field="image", params={"left": 20})

            media = Path(workdir / "media" / "photos")
            media.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, media / "big.png")  # by the OS, not through Python
            photo = Photo.objects.create(title="big", image="photos/big.png")

            before = rss_bytes()
            peak_before = peak_rss_bytes()
            [job] = jobs.create_jobs(
                "uncrop", objects=[photo], field="image", params={"left": 200, "bottom": 100}
            )
            peak_after = peak_rss_bytes()
            job.refresh_from_db()
            if job.status != "succeeded":
                raise SystemExit(f"job {job.status}: {job.error_message}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    growth = max(peak_after - before, 0)
    print(f"source: {job.source_name}, {size / 1e6:.1f} MB")
    print(f"result: {job.result_width}x{job.result_height}, {job.result_bytes / 1e6:.1f} MB")
    print(f"RSS before the job: {before / 1e6:.1f} MB (peak so far {peak_before / 1e6:.1f} MB)")
    print(f"peak RSS during the job: {peak_after / 1e6:.1f} MB (+{growth / 1e6:.1f} MB)")
    print(f"ratio {growth / size:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
