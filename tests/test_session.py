"""The session's JVM class archive: used when it exists, ignored when it does not, looked up
per JDK and Spark version; the local JVM's throughput collector; and the java.nio local file
system, when its jar is built."""

import os
import shutil
import stat

import pyspark
import pytest

from loganalysis.core import session


def test_the_driver_maps_the_class_archive_when_there_is_one(spark):
    archive = session.class_archive_path()
    jvm_option = (spark._jvm.java.lang.management.ManagementFactory
                  .getPlatformMXBean(spark._jvm.com.sun.management.HotSpotDiagnosticMXBean._java_lang_class)
                  .getVMOption("SharedArchiveFile").getValue())
    if archive.is_file():
        assert jvm_option == str(archive)
    else:
        assert jvm_option == ""


def test_the_local_jvm_collects_garbage_with_the_parallel_collector(spark):
    management = spark._jvm.java.lang.management.ManagementFactory
    names = {bean.getName() for bean in management.getGarbageCollectorMXBeans()}
    assert names == {"PS Scavenge", "PS MarkSweep"}


def test_no_archive_no_option(tmp_path, monkeypatch):
    monkeypatch.setattr(session, "class_archive_path", lambda: tmp_path / "missing.jsa")
    assert session.class_archive_option() == ""
    (tmp_path / "missing.jsa").write_bytes(b"x")
    assert session.class_archive_option() == f"-XX:SharedArchiveFile={tmp_path / 'missing.jsa'}"


def test_another_spark_version_looks_for_an_archive_of_its_own(monkeypatch):
    here = session.class_archive_path()
    monkeypatch.setattr(pyspark, "__version__", "0.0.1")
    assert session.class_archive_path() != here
    assert session.class_archive_path().parent == here.parent


def test_local_writes_go_through_the_nio_file_system_with_the_usual_permissions(spark, tmp_path):
    if not session.local_fs_jar_path().is_file():
        assert shutil.which("javac") is None, "setup builds the jar wherever javac exists"
        pytest.skip("no javac on this machine: Spark writes through Hadoop's own local file system")
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    used = spark._jvm.org.apache.hadoop.fs.FileSystem.get(spark._jvm.java.net.URI("file:///"), hadoop_conf)
    assert used.getClass().getName() == "loganalysis.NioLocalFileSystem"
    out = tmp_path / "written"
    spark.createDataFrame([(i, f"s{i % 3}") for i in range(30)], "id long, service string") \
        .write.partitionBy("service").parquet(str(out))
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    files = [os.path.join(root, name) for root, _, names in os.walk(out) for name in names]
    assert folders == ["service=s0", "service=s1", "service=s2"]
    # Hadoop's umask (022) on its defaults, as the chmod process set them before
    assert {stat.S_IMODE(os.stat(out / folder).st_mode) for folder in folders} == {0o755}
    assert {stat.S_IMODE(os.stat(f).st_mode) for f in files} == {0o644}
    assert spark.read.parquet(str(out)).count() == 30


def test_no_jar_or_a_cluster_keeps_hadoops_own_file_system(tmp_path, monkeypatch):
    monkeypatch.setattr(session, "local_fs_jar_path", lambda: tmp_path / "missing.jar")
    assert session.local_fs_settings("local[*]") == {}
    (tmp_path / "missing.jar").write_bytes(b"x")
    assert session.local_fs_settings("local[2]")["spark.hadoop.fs.file.impl"] == "loganalysis.NioLocalFileSystem"
    assert session.local_fs_settings("spark://master:7077") == {}
