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
    {{ return(local_setting('enable_nestloop', 'off')) }}
{%- endmacro %}

{#- A hook statement: a PostgreSQL setting for the model's own transaction (`set local`);
    a no-op on DuckDB. -#}
{% macro local_setting(name, value) -%}
    {{ return(adapter.dispatch('local_setting', 'chs_waiting_lists')(name, value)) }}
{%- endmacro %}

{% macro postgres__local_setting(name, value) -%}
    set local {{ name }} = {{ value }}
{%- endmacro %}

{% macro default__local_setting(name, value) -%}
    select 1
{%- endmacro %}

{#-
    The seeds a node reads, directly or through other models (unique ids, sorted), from
    the graph. Defaults to the node being rendered.
-#}
{% macro upstream_seeds(unique_id=none) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set walk = namespace(frontier=[unique_id or model.unique_id], seen=[]) -%}
    {%- for _ in range(50) if walk.frontier -%}
        {%- set parents = [] -%}
        {%- for node_id in walk.frontier if node_id in graph.nodes -%}
            {%- for parent in graph.nodes[node_id].depends_on.nodes if parent not in walk.seen -%}
                {%- do walk.seen.append(parent) -%}
                {%- do parents.append(parent) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- set walk.frontier = parents -%}
    {%- endfor -%}
    {%- set seeds = [] -%}
    {%- for node_id in walk.seen if node_id.startswith('seed.') -%}
        {%- do seeds.append(node_id) -%}
    {%- endfor -%}
    {{ return(seeds | sort) }}
{%- endmacro %}

{#-
    A fingerprint of the seeds a node reads (dbt's checksums of their files, from the
    manifest). An incremental model that joins seeds stores it with its rows and
    reprocesses every row whose fingerprint differs, so editing a seed can never leave
    stale rows. Defaults to the node being rendered.
-#}
{% macro seeds_checksum(unique_id=none) -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set parts = [] -%}
    {%- for seed_id in upstream_seeds(unique_id) -%}
        {%- do parts.append(graph.nodes[seed_id].checksum.checksum) -%}
    {%- endfor -%}
    {{ return(local_md5(parts | join(':'))) }}
{%- endmacro %}

{#-
    Post-hook for incremental models: planner statistics for the rows just added.
    PostgreSQL's autovacuum analyzes a table some time after an insert; until then the
    next model plans on the old row counts (a pivot of 81k rows estimated at 321 gave a
    nested loop over 8 million row pairs). Only `columns` (those the next queries filter
    and join on) are analyzed, from a sample of 3,000 rows (statistics target 10): enough
    for the row count and a dozen releases' shares, and a constant cost, where the
    default 30,000-row sample read most of the staging table's pages (0.22 s at 12
    months, twice that of 6). No-op on DuckDB, which keeps its own statistics.
-#}
{% macro refresh_statistics(relation, columns) -%}
    {{ return(adapter.dispatch('refresh_statistics', 'chs_waiting_lists')(relation, columns)) }}
{%- endmacro %}

{% macro postgres__refresh_statistics(relation, columns) -%}
    {%- for column in columns %}
    alter table {{ relation }} alter column {{ column }} set statistics 10;
    {%- endfor %}
    analyze {{ relation }} ({{ columns | join(', ') }})
{%- endmacro %}

{% macro default__refresh_statistics(relation, columns) -%}
    select 1
{%- endmacro %}
