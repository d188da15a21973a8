"""Log layouts compiled to Java regexes: named groups counted as Java counts them, strftime read
as Java date patterns, Apache and nginx directives turned into groups. Pure Python, no Spark."""

import pytest

from loganalysis.sources import logformat


def test_named_groups_are_numbered_as_java_numbers_them():
    pattern = (r"^(?<host>\S+) (\d+) [(](?:x)(?<=y)(?<status_code>\d{3})[^)(\]]\(\Q(?<no>\E"
               r"(?<level>[A-Z]+)(?!z)(?i:q)")
    plain, names = logformat.named_groups(pattern)
    assert names == {"host": 1, "status_code": 3, "level": 4}
    assert plain == r"^(\S+) (\d+) [(](?:x)(?<=y)(\d{3})[^)(\]]\(\Q(?<no>\E([A-Z]+)(?!z)(?i:q)"


def test_named_groups_refuses_a_repeated_name_and_named_back_references():
    with pytest.raises(ValueError, match="used twice"):
        logformat.named_groups(r"(?<level>a)(?<level>b)")
    with pytest.raises(ValueError, match="back-references"):
        logformat.named_groups(r"(?<level>a)\k<level>")


@pytest.mark.parametrize("spec,regex,java", [
    ("%Y-%m-%d %H:%M:%S", r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", "yyyy-MM-dd HH:mm:ss"),
    ("%d/%b/%Y:%T %z", r"\d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}", "dd/MMM/yyyy:HH:mm:ss Z"),
    ("%FT%T", r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", "yyyy-MM-dd'T'HH:mm:ss"),
])
def test_strftime_to_java(spec, regex, java):
    assert logformat.strftime_to_java(spec) == (regex, java)


def test_strftime_refuses_what_it_cannot_read():
    with pytest.raises(ValueError, match="%a"):
        logformat.strftime_to_java("%a %d")


def test_apache_sub_second_time_and_duration_in_the_middle():
    compiled = logformat.compile_apache('%h %l %u [%{%Y-%m-%d %H:%M:%S}t.%{msec_frac}t] %D "%r" %>s %b')
    assert compiled.pattern == (r'^(\S+) \S+ (\S+) \[(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\.(\d{3})\] '
                                r'(\d+(?:\.\d+)?) "((?:[^"\\]++|\\.)*+)" (\d{3}) (\d+|-)\s*$')
    assert compiled.groups == {"client_ip": 1, "user_id": 2, "request": 6, "status_code": 7, "bytes_sent": 8}
    assert (compiled.time_groups, compiled.time_format) == ((3, 4), "yyyy-MM-dd HH:mm:ss SSS")
    assert compiled.durations == ((5, 0.001, False),)


def test_apache_format_string_as_written_in_httpd_conf():
    """Quotes escaped as in `LogFormat "%h \"%r\"" name`, %T with a unit, an unknown directive."""
    compiled = logformat.compile_apache(r'%v:%p %h \"%r\" %{ms}T %{X-Request-ID}i')
    assert compiled.pattern == r'^(\S+):\S+ (\S+) "((?:[^"\\]++|\\.)*+)" (\d+(?:\.\d+)?) (\S+)\s*$'
    assert compiled.groups == {"vhost": 1, "client_ip": 2, "request": 3, "trace_id": 5}
    assert compiled.durations == ((4, 1.0, False),)
    with pytest.raises(ValueError, match="%J"):
        logformat.compile_apache("%h %J")


def test_nginx_variables():
    compiled = logformat.compile_nginx('$remote_addr [$time_iso8601] "$request" $status '
                                       '$upstream_response_time $request_time ${host} "$http_x_custom"')
    assert compiled.groups == {"client_ip": 1, "request": 3, "status_code": 4, "vhost": 7}
    assert (compiled.time_groups, compiled.time_format) == ((2,), "iso")
    assert compiled.durations == ((6, 1000.0, False), (5, 1000.0, True))  # $request_time preferred
    assert compiled.pattern.endswith(r'(\S+) "(?:(?:[^"\\]++|\\.)*+)"\s*$')


def test_presets_are_log_format_strings():
    assert logformat.compile_format("apache_combined") == logformat.compile_apache(logformat.COMBINED)
    assert logformat.compile_format("combined_with_time", time_unit="s").durations == ((7, 1000.0, False),)
    with pytest.raises(ValueError, match="needs log_format"):
        logformat.compile_format("nginx", "")


def test_an_epoch_time_stands_alone():
    assert logformat.compile_apache("%{msec}t %h").time_format == "epoch_ms"
    with pytest.raises(ValueError, match="only time field"):
        logformat.compile_apache("%{sec}t %{msec_frac}t %h")


@pytest.mark.parametrize("text,ok", [(logformat.COMBINED, True), (logformat.NGINX_COMBINED, True),
                                     ("%h %Q", False), ("no directives", False)])
def test_log_format_ok(text, ok):
    assert logformat.log_format_ok(text) is ok
