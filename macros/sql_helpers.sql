{#- Dialect helpers: every dialect difference in the models sits behind adapter.dispatch here. -#}

{#- Capture group `group` of a POSIX regular expression, null when it does not match. -#}
{% macro regex_extract(string_expression, pattern, group=1) -%}
    {{ return(adapter.dispatch('regex_extract', 'chs_waiting_lists')(string_expression, pattern, group)) }}
{%- endmacro %}

{% macro postgres__regex_extract(string_expression, pattern, group) -%}
    (regexp_match({{ string_expression }}, '{{ pattern }}'))[{{ group }}]
{%- endmacro %}

{% macro duckdb__regex_extract(string_expression, pattern, group) -%}
    nullif(regexp_extract({{ string_expression }}, '{{ pattern }}', {{ group }}), '')
{%- endmacro %}

{#-
    Abort the statement with `message_expression` (a text SQL expression) in the error.
    Used where silently dropping a row would corrupt the output (an unknown service label).
-#}
{% macro raise_error(message_expression) -%}
    {{ return(adapter.dispatch('raise_error', 'chs_waiting_lists')(message_expression)) }}
{%- endmacro %}

{#-
    PostgreSQL has no error() in plain SQL; a failing cast carries the message into the
    error text. The outer cast keeps the expression text-typed, like the CASE it sits in.
-#}
{% macro postgres__raise_error(message_expression) -%}
    cast(cast(({{ message_expression }}) as integer) as text)
{%- endmacro %}

{% macro duckdb__raise_error(message_expression) -%}
    error({{ message_expression }})
{%- endmacro %}

{#- Month number (1-12) from an English month name, in portable SQL. -#}
{% macro month_number(month_name_expression) -%}
    case lower({{ month_name_expression }})
        {%- for name in ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august',
                         'september', 'october', 'november', 'december'] %}
        when '{{ name }}' then {{ loop.index }}
    {%- endfor %}
    end
{%- endmacro %}

{#- Post-hook: a GIN index on a jsonb column (PostgreSQL); nothing on DuckDB. -#}
{% macro create_json_index(relation, column) -%}
    {{ return(adapter.dispatch('create_json_index', 'chs_waiting_lists')(relation, column)) }}
{%- endmacro %}

{% macro postgres__create_json_index(relation, column) -%}
    create index if not exists {{ relation.identifier }}__{{ column }}__gin on {{ relation }} using gin ({{ column }})
{%- endmacro %}

{% macro default__create_json_index(relation, column) -%}
    select 1
{%- endmacro %}

{#-
    Pre-hook for models that rebuild sheets from the cells table. PostgreSQL cannot
    estimate the self-joins of a multi-referenced CTE (it has no statistics for them),
    guesses one row and picks nested loops that take minutes; hash joins take seconds.
    `set local` lasts only for the model's own transaction. No-op on DuckDB.
-#}
{% macro prefer_hash_joins() -%}
    {{ return(adapter.dispatch('prefer_hash_joins', 'chs_waiting_lists')()) }}
{%- endmacro %}

{% macro postgres__prefer_hash_joins() -%}
    set local enable_nestloop = off
{%- endmacro %}

{% macro default__prefer_hash_joins() -%}
    select 1
{%- endmacro %}

{#-
    A fingerprint of the named seeds' files (dbt's checksums, from the manifest). An
    incremental model that joins those seeds stores it with its rows and reprocesses
    every row whose fingerprint differs, so editing a seed can never leave stale rows.
-#}
{% macro seeds_checksum(seed_names) -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set parts = [] -%}
    {%- for name in seed_names -%}
        {%- do parts.append(graph.nodes['seed.' ~ project_name ~ '.' ~ name]['checksum']['checksum']) -%}
    {%- endfor -%}
    {{ return(local_md5(parts | join(':'))) }}
{%- endmacro %}

{#-
    Post-hook for incremental models: planner statistics for the rows just added.
    PostgreSQL's autovacuum analyzes a table some time after an insert; until then the
    next model plans on the old row counts (a pivot of 81k rows estimated at 321 gave a
    nested loop over 8 million row pairs). No-op on DuckDB, which keeps its own.
-#}
{% macro refresh_statistics(relation) -%}
    {{ return(adapter.dispatch('refresh_statistics', 'chs_waiting_lists')(relation)) }}
{%- endmacro %}

{% macro postgres__refresh_statistics(relation) -%}
    analyze {{ relation }}
{%- endmacro %}

{% macro default__refresh_statistics(relation) -%}
    select 1
{%- endmacro %}
