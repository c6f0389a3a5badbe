{#- JSON building and reading. PostgreSQL: jsonb; DuckDB: the built-in JSON type. -#}

{#- An object from alternating key / value SQL expressions: json_object(["'a'", "x", "'b'", "y"]). -#}
{% macro json_object(key_value_expressions) -%}
    {{ return(adapter.dispatch('json_object', 'chs_waiting_lists')(key_value_expressions)) }}
{%- endmacro %}

{#- jsonb_build_object takes at most 100 arguments: build chunks of 50 pairs and concatenate. -#}
{% macro postgres__json_object(key_value_expressions) -%}
    {%- set chunks = [] -%}
    {%- for start in range(0, key_value_expressions | length, 100) -%}
        {%- do chunks.append('jsonb_build_object(' ~ (key_value_expressions[start:start + 100] | join(', ')) ~ ')') -%}
    {%- endfor -%}
    {%- if chunks | length == 0 -%}
        '{}'::jsonb
    {%- else -%}
        ({{ chunks | join(' || ') }})
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__json_object(key_value_expressions) -%}
    {%- if key_value_expressions | length == 0 -%}
        cast('{}' as json)
    {%- else -%}
        json_object({{ key_value_expressions | join(', ') }})
    {%- endif -%}
{%- endmacro %}

{#-
    An object keyed by column name from `columns`, or null when every column is null
    (so "no A&E figures" is a null column, not an object of nulls).
-#}
{% macro json_object_of_columns(columns) -%}
    {%- if columns | length == 0 -%}
        {{ json_null() }}
    {%- else -%}
        {%- set pairs = [] -%}
        {%- for column in columns -%}
            {%- do pairs.extend(["'" ~ column ~ "'", column]) -%}
        {%- endfor -%}
        case when {{ columns | join(' is not null or ') }} is not null then {{ json_object(pairs) }} end
    {%- endif -%}
{%- endmacro %}

{#- Aggregate (key, json value) rows into one object; keys in a fixed order so output is stable. -#}
{% macro json_object_agg(key_expression, value_expression) -%}
    {{ return(adapter.dispatch('json_object_agg', 'chs_waiting_lists')(key_expression, value_expression)) }}
{%- endmacro %}

{% macro postgres__json_object_agg(key_expression, value_expression) -%}
    jsonb_object_agg({{ key_expression }}, {{ value_expression }} order by {{ key_expression }})
{%- endmacro %}

{#- DuckDB's json_group_object is a macro that takes no ORDER BY; a map of ordered lists does. -#}
{% macro duckdb__json_object_agg(key_expression, value_expression) -%}
    to_json(map(
        list({{ key_expression }} order by {{ key_expression }}),
        list({{ value_expression }} order by {{ key_expression }})
    ))
{%- endmacro %}

{#- Aggregate JSON values into an array, in the order of `order_by` (a stable output). -#}
{% macro json_array_agg(value_expression, order_by) -%}
    {{ return(adapter.dispatch('json_array_agg', 'chs_waiting_lists')(value_expression, order_by)) }}
{%- endmacro %}

{% macro postgres__json_array_agg(value_expression, order_by) -%}
    jsonb_agg({{ value_expression }} order by {{ order_by }})
{%- endmacro %}

{% macro duckdb__json_array_agg(value_expression, order_by) -%}
    to_json(list({{ value_expression }} order by {{ order_by }}))
{%- endmacro %}

{#- The SQL type of a JSON column. -#}
{% macro json_type() -%}
    {{ return(adapter.dispatch('json_type', 'chs_waiting_lists')()) }}
{%- endmacro %}

{% macro postgres__json_type() -%} jsonb {%- endmacro %}

{% macro duckdb__json_type() -%} json {%- endmacro %}

{#- A typed SQL null of the JSON type, for columns that have no value. -#}
{% macro json_null() -%}
    cast(null as {{ json_type() }})
{%- endmacro %}

{#-
    Read a JSON member as text. `path` is a list of SQL expressions (quoted literals or
    columns): json_get_text('j', ["'metadata'", "'services_reported'"]).
-#}
{% macro json_get_text(json_expression, path) -%}
    {{ return(adapter.dispatch('json_get_text', 'chs_waiting_lists')(json_expression, path)) }}
{%- endmacro %}

{% macro postgres__json_get_text(json_expression, path) -%}
    ({{ json_expression }} #>> array[{{ path | join(', ') }}])
{%- endmacro %}

{% macro duckdb__json_get_text(json_expression, path) -%}
    json_extract_string({{ json_expression }}, '$' {%- for part in path %} || '."' || {{ part }} || '"' {%- endfor %})
{%- endmacro %}

{#- A select-list expression giving one row per key of the object at `key` (a SQL expression). -#}
{% macro json_object_keys(json_expression, key) -%}
    {{ return(adapter.dispatch('json_object_keys', 'chs_waiting_lists')(json_expression, key)) }}
{%- endmacro %}

{% macro postgres__json_object_keys(json_expression, key) -%}
    jsonb_object_keys({{ json_expression }} -> {{ key }})
{%- endmacro %}

{% macro duckdb__json_object_keys(json_expression, key) -%}
    unnest(json_keys({{ json_expression }}, '$."' || {{ key }} || '"'))
{%- endmacro %}
