"""Names that become folder names: service and environment partition every data set.

Shared by the validation of stage 02 and the ingestion of stage 01, so a name no folder can
carry is quarantined with the same reason wherever it first appears.
"""

from __future__ import annotations

from pyspark.sql import Column, functions as F

# Service and environment name folders (`service=<name>/`), so a name a folder cannot carry is
# quarantined as `bad_name:<field>`: a '/' or a control character, or a name whose folder name
# would pass the 255-byte limit of common filesystems once Spark has escaped it (each of these
# characters becomes %XX in the folder name; anything else, non-ASCII too, is kept as UTF-8).
NAME_FIELDS = ("service", "environment")
MAX_NAME_BYTES = 200
_FORBIDDEN_IN_NAMES = r"[/\x00-\x1F\x7F]"
_ESCAPED_IN_FOLDER_NAMES = r"""["#%'*:=?\\{\[\]^]"""


def folder_name_bytes(name: Column) -> Column:
    """Bytes of a partition value once Spark has written it into a folder name."""
    return F.octet_length(F.regexp_replace(name, _ESCAPED_IN_FOLDER_NAMES, "%XX"))


def unusable_name(name: Column) -> Column:
    """True when a (non-empty) name cannot be a folder name, as Spark writes partitions."""
    # Escaping at most triples a name, so only a name over a third of the limit is escaped to
    # measure it (`&` stops at its left side): ordinary names skip the regex replace.
    return name.rlike(_FORBIDDEN_IN_NAMES) | (
        (F.octet_length(name) > MAX_NAME_BYTES // 3) & (folder_name_bytes(name) > MAX_NAME_BYTES))
