"""The session's JVM class archive: used when it exists, ignored when it does not, looked up
per JDK and Spark version."""

import pyspark

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
