"""sqlfluff lint stub of dbt's cross-database macros (types, dateadd; DuckDB spelling)."""


def type_string():  # noqa: ANN201
    return "varchar"


def type_numeric():  # noqa: ANN201
    return "numeric"


def type_float():  # noqa: ANN201
    return "double"


def dateadd(datepart, interval, from_date_or_timestamp):  # noqa: ANN001, ANN201
    return f"{from_date_or_timestamp} + interval ({interval}) {datepart}"
