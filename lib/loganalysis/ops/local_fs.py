"""Builds the jar of `loganalysis.NioLocalFileSystem` (java/), which `core.session.get_spark`
puts on a local driver's class path as the file system for `file:` paths.

Without Hadoop's native library, every file and folder Spark writes locally costs a `chmod`
process (about 10 ms): the raw logs of 1,500 series took 30-42 s to write, 1,500 tiny files
17-22 s, and 2-5 s with this file system (docs/performance.md). Compiling needs `javac` (a JDK);
with only a JRE there is no jar and Spark writes as before.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from loganalysis.core.session import LOCAL_FS_SOURCE as SOURCE, local_fs_jar_path


def build() -> Path | None:
    """Compile the file system into its jar unless it exists; its path, or None without javac."""
    target = local_fs_jar_path()
    if target.is_file():
        return target
    javac = shutil.which("javac")
    if javac is None:
        return None
    import pyspark

    hadoop = glob.glob(os.path.join(os.path.dirname(pyspark.__file__), "jars", "hadoop-client-api-*.jar"))
    with tempfile.TemporaryDirectory(prefix="loganalysis-local-fs-") as classes:
        compiled = subprocess.run([javac, "--release", "17", "-nowarn", "-cp", os.pathsep.join(hadoop),
                                   "-d", classes, str(SOURCE)], capture_output=True, text=True)
        if compiled.returncode != 0:
            print(f"setup: javac could not build {SOURCE.name}; Spark writes without it:\n{compiled.stderr}")
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        with zipfile.ZipFile(partial, "w") as jar:  # a jar is a zip of the class files
            for path in sorted(Path(classes).rglob("*.class")):
                jar.write(path, path.relative_to(classes).as_posix())
    os.replace(partial, target)
    return target
