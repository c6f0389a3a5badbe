"""sqlfluff lint stub of dbt's cross-database type macros (DuckDB spelling)."""


def type_string():  # noqa: ANN201
    return "varchar"


def type_numeric():  # noqa: ANN201
    return "numeric"


def type_float():  # noqa: ANN201
    return "double"
