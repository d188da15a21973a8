import pytest

from loganalysis.session import get_spark


@pytest.fixture(scope="session")
def spark():
    session = get_spark("local[2]", "loganalysis-tests",
                        {"spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false"})
    yield session
    session.stop()
