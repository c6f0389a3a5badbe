{#-
    Incremental by release, for models whose rows each come from one release of a
    workbook: a run processes only the releases the model does not hold yet, and the
    post-hook drops the rows of releases a revision superseded. A release is immutable
    (keyed by its SHA-256), so this is exact; after changing such a model's SQL run
    `dbt build --full-refresh`.

    A model that reads seeds (directly or upstream) also stores their fingerprint
    (`seeds_checksum`): a release counts as processed only with the seeds as they are
    now, and the post-hook drops rows made with older seeds, so a seed edit reprocesses
    every release.

    In the model: {{ config(**incremental_by_release_config(statistics_columns)) }}; in its
    input CTE: {% if is_incremental() %} where {{ release_not_yet_processed() }} {% endif %};
    if it reads seeds, select '{{ seeds_checksum() }}' as seeds_checksum; and
    -- depends_on: {{ source('raw_chs', 'load_log') }}, which these macros read.

    Why the releases are looked up first and inlined as literals: the load log has a row
    per release (a dozen a year), so finding the new ones costs an index probe each; the
    model's own query then filters on constants and reads only the new release's rows,
    whatever the number of months already held.
-#}

{#- The model config of the pattern. `statistics_columns`: the columns the next queries
    filter and join on (refresh_statistics); hooks are strings, rendered at run time.
    `unique_key` (a column), for models that rebuild whole months (release_windows_to_process):
    delete+insert on it, and an index on it where releases are indexed. -#}
{% macro incremental_by_release_config(statistics_columns, pre_hook=none, unique_key=none) -%}
    {%- set model_config = {} -%}
    {%- do model_config.update({'materialized': 'incremental', 'incremental_strategy': 'append'}) -%}
    {%- if unique_key is not none -%}
        {%- do model_config.update({'incremental_strategy': 'delete+insert', 'unique_key': unique_key}) -%}
    {%- endif -%}
    {%- set indexes = release_indexes([] if unique_key is none else [unique_key]) -%}
    {%- do model_config.update({'on_schema_change': 'fail', 'indexes': indexes}) -%}
    {#- A model that rebuilds whole months replaces the rows of a revised month, and of
        every month after a seed edit, itself: it has no outdated rows to delete (and
        the delete would scan the whole table). -#}
    {%- set post_hook = [] if unique_key is not none else ['{{ release_rows_outdated_deleted() }}'] -%}
    {%- do post_hook.append('{{ refresh_statistics(this, ' ~ statistics_columns ~ ') }}') -%}
    {%- do model_config.update({'post_hook': post_hook}) -%}
    {%- if pre_hook is not none -%}
        {%- do model_config.update({'pre_hook': pre_hook}) -%}
    {%- endif -%}
    {{ return(model_config) }}
{%- endmacro %}

{#- The current releases of landed workbooks of which `relation` holds no row that
    satisfies `done_condition` (SQL on the alias `done`); a list of SHA-256s. -#}
{% macro releases_missing_from(relation, done_condition='1 = 1') -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select releases.file_sha256
        from {{ load_log_relation() }} as releases
        where
            releases.source_kind = 'chs_workbook'
            and releases.release_status = 'current'
            and not exists (
                select 1 from {{ relation }} as done
                where done.file_sha256 = releases.file_sha256 and {{ done_condition }}
            )
        order by releases.file_sha256
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{#- raw_chs.load_log, looked up in the graph so that run-time SQL (hooks, test filters)
    can read it without adding a dependency. -#}
{% macro load_log_relation() -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set node = graph.sources['source.' ~ project_name ~ '.raw_chs.load_log'] -%}
    {{ return(api.Relation.create(node.database, node.schema, node.identifier)) }}
{%- endmacro %}

{#-
    For models whose row for a month also reads the `window_months` months before it
    (averages over the latest months, flows from the month before): the months to
    (re)build and the releases they read, as {'periods': [...], 'releases': [...]}.
    A release not yet processed (`done_condition` as in releases_missing_from: a new
    month, a revision, every release after a seed edit) makes its own month and the
    `window_months` months after it stale; each stale month is rebuilt from the releases
    of its window. A monthly build thus reads window_months + 1 months, and a revision of
    month m rebuilds m to m + window_months, whatever the number of months held.
    In the model: config(**incremental_by_release_config(..., unique_key='period')), so
    the rebuilt months replace their rows; filter its input on
    file_sha256_in(windows.releases) and its output on the periods.
-#}
{% macro release_windows_to_process(window_months, done_condition) -%}
    {%- set changed = releases_missing_from(this, done_condition) -%}
    {%- if not changed -%}
        {{ return({'periods': [], 'releases': []}) }}
    {%- endif -%}
    {%- set query -%}
        with

        current_releases as (
            select reporting_period, file_sha256
            from {{ load_log_relation() }}
            where source_kind = 'chs_workbook' and release_status = 'current'
        ),

        stale_periods as (
            select distinct later.reporting_period
            from current_releases as later
            inner join current_releases as changed
                on
                    later.reporting_period >= changed.reporting_period
                    and later.reporting_period <= {{ dbt.dateadd('month', window_months, 'changed.reporting_period') }}
            where {{ file_sha256_in(changed, 'changed.file_sha256') }}
        ),

        window_releases as (
            select distinct window_release.file_sha256
            from current_releases as window_release
            inner join stale_periods
                on
                    window_release.reporting_period <= stale_periods.reporting_period
                    and window_release.reporting_period
                    >= {{ dbt.dateadd('month', -window_months, 'stale_periods.reporting_period') }}
        )

        select 'period' as kind, cast(reporting_period as {{ dbt.type_string() }}) as value from stale_periods
        union all
        select 'release' as kind, file_sha256 as value from window_releases
        order by 1, 2
    {%- endset -%}
    {%- set windows = {'periods': [], 'releases': []} -%}
    {%- for kind, value in run_query(query).rows -%}
        {%- do windows[kind ~ 's'].append(value) -%}
    {%- endfor -%}
    {{ return(windows) }}
{%- endmacro %}

{#- `column in (<the given dates, 'YYYY-MM-DD'>)`; false for none. -#}
{% macro period_in(periods, column='period') -%}
    {%- if periods -%}
        {{ column }} in (cast('{{ periods | join("' as date), cast('") }}' as date))
    {%- else -%}
        1 = 0
    {%- endif -%}
{%- endmacro %}

{#- `column in (<the given SHA-256s>)`; false for none. -#}
{% macro file_sha256_in(releases, column='file_sha256') -%}
    {%- if releases -%}
        {{ column }} in ('{{ releases | join("', '") }}')
    {%- else -%}
        1 = 0
    {%- endif -%}
{%- endmacro %}

{#- For the model being rendered: its releases to process, as a filter. -#}
{% macro release_not_yet_processed() -%}
    {{ file_sha256_in(releases_missing_from(this, processed_with_current_seeds())) }}
{%- endmacro %}

{#- A condition on `done` rows of a model (default: the one being rendered): made with
    the seeds as they are now; true for a model that reads no seeds. -#}
{% macro processed_with_current_seeds(unique_id=none) -%}
    {%- if upstream_seeds(unique_id) -%}
        done.seeds_checksum = '{{ seeds_checksum(unique_id) }}'
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{#- Post-hook. Superseded releases are listed in the load log, so this probes the
    file_sha256 index rather than scanning the table for rows of non-current releases. -#}
{% macro release_rows_outdated_deleted() -%}
    delete from {{ this }}
    where
        file_sha256 in (
            select releases.file_sha256 from {{ load_log_relation() }} as releases
            where releases.release_status = 'superseded'
        )
        or {{ made_with_older_seeds() }}
{%- endmacro %}

{% macro made_with_older_seeds() -%}
    {%- if upstream_seeds() -%}
        seeds_checksum != '{{ seeds_checksum() }}'
    {%- else -%}
        1 = 0
    {%- endif -%}
{%- endmacro %}

{#- Config: the index those look-ups use, and one on each of `key_columns` (the delete of
    delete+insert) (PostgreSQL; DuckDB's column scans need none). -#}
{% macro release_indexes(key_columns=[]) -%}
    {{ return(adapter.dispatch('release_indexes', 'chs_waiting_lists')(key_columns)) }}
{%- endmacro %}

{% macro postgres__release_indexes(key_columns) -%}
    {%- set indexes = [{'columns': ['file_sha256']}] -%}
    {%- for column in key_columns -%}
        {%- do indexes.append({'columns': [column]}) -%}
    {%- endfor -%}
    {{ return(indexes) }}
{%- endmacro %}

{% macro default__release_indexes(key_columns) -%}
    {{ return([]) }}
{%- endmacro %}
