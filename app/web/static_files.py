"""Static files as a phone needs them: content-hashed names cached for a year, brotli and gzip made once at build
time, served by WhiteNoise in front of the app.

The build (`make static`, also run by `make install`; `python -m app.web.static_files`) copies static/ into
build/static/files/ twice, under each file's own name and under a name with its content hash
(css/app.css → css/app.3f2a9c1b4d5e.css), writes a .br and a .gz beside every file they make smaller, and
lists the hashed names in build/static/manifest.json. build/ is git-ignored and outside static/, so nothing
built is ever served as a source file or committed. Templates ask `static_url(name)` for a file's URL: its
hashed name when the build is there and up to date, else its plain name (then static/ is served as it is,
uncompressed, and the app says so in its log).
"""

import hashlib
import json
import logging
import os
import shutil
import sys
from pathlib import Path

from flask import current_app, url_for
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "static"
BUILD = ROOT / "build" / "static"  # the default; the app's STATIC_BUILD_FOLDER may name another
MANIFEST = "manifest.json"
FILES = "files"
HASH_LENGTH = 12
YEAR = 365 * 24 * 3600
IMMUTABLE = f"public, max-age={YEAR}, immutable"

log = logging.getLogger(__name__)


def source_files(source: Path = SOURCE) -> dict[str, Path]:
    """Every file under static/ by its name there (css/app.css), hidden files and folders left out."""
    files = {}
    for path in sorted(source.rglob("*")):
        name = path.relative_to(source).as_posix()
        if path.is_file() and not any(part.startswith(".") for part in name.split("/")):
            files[name] = path
    return files


def hashed_name(name: str, content: bytes) -> str:
    digest = hashlib.sha256(content).hexdigest()[:HASH_LENGTH]
    folder, _, filename = name.rpartition("/")
    stem, dot, suffix = filename.rpartition(".")
    hashed = f"{stem}.{digest}.{suffix}" if dot and stem else f"{filename}.{digest}"
    return f"{folder}/{hashed}" if folder else hashed


def build(source: Path = SOURCE, target: Path = BUILD, quiet: bool = False) -> dict[str, str]:
    """Build target/ from source/ (into a new folder, then swapped in) and return {name: hashed name}."""
    compressor = Compressor(quiet=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    names = {}
    for name, path in source_files(source).items():
        content = path.read_bytes()
        names[name] = hashed_name(name, content)
        hashed = work / FILES / names[name]
        hashed.parent.mkdir(parents=True, exist_ok=True)
        hashed.write_bytes(content)
        made = compressor.compress(str(hashed)) if compressor.should_compress(name) else []
        plain = work / FILES / name
        for built in [str(hashed), *made]:  # the plain name gets the same bytes and the same variants
            _link_or_copy(built, str(plain) + built[len(str(hashed)):])
        if not quiet:
            sizes = ", ".join(f"{Path(m).suffix[1:]} {os.path.getsize(m):,}" for m in made) or "not compressed"
            print(f"{names[name]}: {len(content):,} bytes; {sizes}")
    _keep_previous(target, work)
    (work / MANIFEST).write_text(json.dumps({"files": names}, indent=1, sort_keys=True))
    old = target.with_name(f"{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    work.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return names


def _keep_previous(target: Path, work: Path) -> None:
    """The previous build's hashed files, kept for one more build: processes still running the previous release
    (between `make install` and their restart) keep serving the stylesheet and scripts of the pages they render.
    Only the previous manifest's names are carried, so older ones go at the next build."""
    try:
        previous = json.loads((target / MANIFEST).read_text())["files"].values()
    except (OSError, ValueError, KeyError, AttributeError):
        return
    for hashed in previous:
        for variant in (hashed, f"{hashed}.br", f"{hashed}.gz"):
            kept, carried = target / FILES / variant, work / FILES / variant
            if kept.is_file() and not carried.exists():
                carried.parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(str(kept), str(carried))


def _link_or_copy(existing: str, new: str) -> None:
    try:
        os.link(existing, new)
    except OSError:
        shutil.copyfile(existing, new)


def read_manifest(source: Path = SOURCE, target: Path = BUILD) -> dict[str, str] | None:
    """The built names, or None when the build is missing or not of static/ as it is now (a file changed, came or
    went). Decided by content, not by dates: hashing static/ takes milliseconds."""
    try:
        names = json.loads((target / MANIFEST).read_text())["files"]
    except (OSError, ValueError, KeyError):
        return None
    current = {name: hashed_name(name, path.read_bytes()) for name, path in source_files(source).items()}
    return names if names == current else None


def build_if_stale(source: Path = SOURCE, target: Path = BUILD) -> None:
    if read_manifest(source, target) is None:
        build(source, target, quiet=True)


def serve_static_files(app) -> None:
    """Serve /static/ with WhiteNoise in front of the app: the build when it is there and up to date, else static/
    itself. Flask's own static view stays behind it (public, like every static file) for a file WhiteNoise has not
    seen, such as one added after the start; its responses get the app's headers."""
    target = Path(app.config.get("STATIC_BUILD_FOLDER") or BUILD)
    names = read_manifest(SOURCE, target)
    if names is None:
        log.warning("No up-to-date static build in %s: serving static/ uncompressed (run `make static`)", target)
        names = {}
    app.extensions["dtech_static"] = names
    immutable = {f"/static/{hashed}" for hashed in names.values()}

    def add_headers(headers, path, url) -> None:
        headers["X-Content-Type-Options"] = "nosniff"
        # A hashed name never changes its content; a plain name may, so the browser asks again each time.
        headers["Cache-Control"] = IMMUTABLE if url in immutable else "public, no-cache"

    app.wsgi_app = WhiteNoise(app.wsgi_app, root=str(target / FILES if names else SOURCE), prefix="static/",
                              max_age=None, add_headers_function=add_headers)


def static_url(filename: str) -> str:
    """The URL of a static file: its hashed name (cached for a year), or its plain name without a build."""
    return url_for("static", filename=current_app.extensions["dtech_static"].get(filename, filename))


if __name__ == "__main__":
    build(quiet="--quiet" in sys.argv)
