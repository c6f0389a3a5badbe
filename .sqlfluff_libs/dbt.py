"""sqlfluff lint stub of dbt's cross-database macros (types, dateadd; DuckDB spelling)."""


def type_string():  # noqa: ANN201
    return "varchar"


def type_numeric():  # noqa: ANN201
    return "numeric"


def type_float():  # noqa: ANN201
    return "double"


def dateadd(datepart, interval, from_date_or_timestamp):  # noqa: ANN001, ANN201
    return f"date_add({from_date_or_timestamp}, interval ({interval}) {datepart})"


def datediff(first_date, second_date, datepart):  # noqa: ANN001, ANN201
    return f"date_diff('{datepart}', {first_date}, {second_date})"
