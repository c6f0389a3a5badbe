{#-
    Incremental by release, for models whose rows each come from one release of a
    workbook: a run processes only the releases the model does not hold yet, and the
    pre-hook drops the rows of releases a revision superseded. A release is immutable
    (keyed by its SHA-256), so this is exact; after changing such a model's SQL run
    `dbt build --full-refresh`.

    A model that reads seeds (directly or upstream) also stores their fingerprint
    (`seeds_checksum`): a release counts as processed only with the seeds as they are
    now, and the pre-hook drops rows made with older seeds, so a seed edit reprocesses
    every release.

    In the model: {{ config(**incremental_by_release_config(statistics_columns)) }}; in its
    input CTE: where {{ releases_to_process() }}; if it reads seeds, select
    '{{ seeds_checksum() }}' as seeds_checksum; and
    -- depends_on: {{ source('raw_chs', 'load_log') }}, which these macros read.

    Why the releases are looked up first and inlined as literals: the load log has a row
    per release (a dozen a year), so finding the new ones costs an index probe each; the
    model's own query then filters on constants and reads only the new release's rows,
    whatever the number of months already held.

    Why in batches: a first build (or a seed edit) processes every release. One query over
    ten years of cells needs memory in proportion (3.5 GB on DuckDB at 120 months), and
    PostgreSQL, which cannot estimate the model's self-joins, picks plans that degrade
    faster than the data grows. So a run processes at most `releases_per_batch` releases
    (a var, 12 by default) per statement: the model's SQL takes the first batch, and the
    post-hook runs the same SQL again for each further batch. A backfill then costs the
    same per month whatever the number of months, and its peak memory is that of one
    batch.
-#}

{#- The model config of the pattern. `statistics_columns`: the columns the next queries
    filter and join on (refresh_statistics); hooks are strings, rendered at run time.
    `batched=false` for a model that scopes its releases itself instead of through
    releases_to_process() (int_organisation_months_flagged): it runs in one statement.
    `unique_key` (a column), for models that rebuild whole months (release_windows_to_process):
    delete+insert on it, one statement, and an index on it where releases are indexed.
    `indexed_columns`: more columns to index there, for the reports' look-ups by month. -#}
{% macro incremental_by_release_config(
    statistics_columns, pre_hook=none, batched=true, unique_key=none, indexed_columns=[]
) -%}
    {%- set model_config = {'pre_hook': ['{{ without_jit() }}']} -%}
    {%- do model_config.update({'materialized': 'incremental', 'incremental_strategy': 'append'}) -%}
    {%- if unique_key is not none -%}
        {%- do model_config.update({'incremental_strategy': 'delete+insert', 'unique_key': unique_key}) -%}
    {%- else -%}
        {#- A model that rebuilds whole months replaces the rows of a revised month, and
            of every month after a seed edit, itself: it has no outdated rows to delete. -#}
        {%- do model_config.pre_hook.append('{{ release_rows_outdated_deleted() }}') -%}
    {%- endif -%}
    {%- set indexes = release_indexes(([] if unique_key is none else [unique_key]) + indexed_columns) -%}
    {%- do model_config.update({'on_schema_change': 'fail', 'indexes': indexes}) -%}
    {%- set post_hook = ['{{ release_batches_inserted() }}'] if batched and unique_key is none else [] -%}
    {%- do post_hook.append('{{ refresh_statistics(this, ' ~ statistics_columns ~ ') }}') -%}
    {%- do model_config.update({'post_hook': post_hook}) -%}
    {%- if pre_hook is not none -%}
        {%- do model_config.pre_hook.append(pre_hook) -%}
    {%- endif -%}
    {{ return(model_config) }}
{%- endmacro %}

{#- The current releases of landed workbooks of which `relation` holds no row that
    satisfies `done_condition` (SQL on the alias `done`), oldest month first; every
    current release when `relation` is none. A list of SHA-256s. -#}
{% macro releases_missing_from(relation, done_condition='1 = 1') -%}
    {%- if relation is none -%}
        {{ return(current_releases()) }}
    {%- endif -%}
    {{ return(current_releases(release_not_held(relation, done_condition))) }}
{%- endmacro %}

{#- A condition on a load-log row `releases`: `relation` holds no row of that release
    that satisfies `done_condition` (SQL on the alias `done`). -#}
{% macro release_not_held(relation, done_condition='1 = 1') -%}
    {{ return(adapter.dispatch('release_not_held', 'chs_waiting_lists')(relation, done_condition)) }}
{%- endmacro %}

{#- PostgreSQL: a probe of the model's file_sha256 index per release. -#}
{% macro default__release_not_held(relation, done_condition) -%}
    not exists (
        select 1 from {{ relation }} as done
        where done.file_sha256 = releases.file_sha256 and {{ done_condition }}
    )
{%- endmacro %}

{#- DuckDB: the model's distinct releases first, then the anti-join on them. Correlated
    on the model's rows, DuckDB joined every row: 0.5 to 1.3 s for the 9.4 million rows of
    stg_chs__waiting_list_values at 120 months, against 0.04 s this way (a scan of one
    column), and this look-up runs for every incremental model and scoped test. -#}
{% macro duckdb__release_not_held(relation, done_condition) -%}
    not exists (
        select 1
        from (select distinct done.file_sha256 from {{ relation }} as done where {{ done_condition }}) as held
        where held.file_sha256 = releases.file_sha256
    )
{%- endmacro %}

{#- The current releases of landed workbooks that satisfy `condition` (SQL on the alias
    `releases`, a load-log row), oldest month first; a list of SHA-256s. -#}
{% macro current_releases(condition='1 = 1') -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select releases.file_sha256
        from {{ load_log_relation() }} as releases
        where
            releases.source_kind = 'chs_workbook'
            and releases.release_status = 'current'
            and {{ condition }}
        order by releases.reporting_period, releases.file_sha256
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

{#- For the model being rendered: the first batch of the releases it processes in this
    run, as a filter. Every current release on a first build or --full-refresh. -#}
{% macro releases_to_process() -%}
    {%- if not execute -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {%- if should_full_refresh() or load_relation(this) is none -%}
        {%- set pending = releases_missing_from(none) -%}
    {%- else -%}
        {%- set pending = releases_missing_from(this, processed_with_current_seeds()) -%}
    {%- endif -%}
    {{ file_sha256_in(release_batches(pending)[0] if pending else []) }}
{%- endmacro %}

{#- `releases` in lists of at most var('releases_per_batch'). -#}
{% macro release_batches(releases) -%}
    {%- set size = var('releases_per_batch') | int -%}
    {%- set batches = [] -%}
    {%- for start in range(0, releases | length, size) -%}
        {%- do batches.append(releases[start:start + size]) -%}
    {%- endfor -%}
    {{ return(batches) }}
{%- endmacro %}

{#- Post-hook: the model's SQL (`sql`, compiled with the first batch's releases inlined)
    again for each further batch, the releases the model still lacks after the first. -#}
{% macro release_batches_inserted() -%}
    {%- if not execute or sql is none -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set filter_pattern = "file_sha256 in \\('[0-9a-f]{64}'(?:, '[0-9a-f]{64}')*\\)" -%}
    {%- set first_batch = modules.re.findall(filter_pattern, sql) | unique | list -%}
    {#- a first batch smaller than a batch held every release pending: no look-up (a
        monthly build's one release; the look-up scans the model's release column on DuckDB) -#}
    {%- if first_batch | length == 1 and first_batch[0].count("'") // 2 < var('releases_per_batch') | int -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set batches = release_batches(releases_missing_from(this, processed_with_current_seeds())) -%}
    {%- if not batches -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- if first_batch | length != 1 -%}
        {{ exceptions.raise_compiler_error(this ~ ': no release filter (releases_to_process) in its SQL') }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='quoted') | join(', ') -%}
    {%- set statements = [] -%}
    {%- for batch in batches -%}
        {%- set batch_sql = sql | replace(first_batch[0], file_sha256_in(batch)) -%}
        {%- do statements.append('insert into ' ~ this ~ ' (' ~ columns ~ ')\n' ~ batch_sql) -%}
    {%- endfor -%}
    {{ statements | join(';\n') }}
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

{#- Pre-hook: before a run adds releases, the rows they replace go: those of releases a
    revision superseded, and (in a model that reads seeds) any rows of the releases the run
    is about to process, which can only have been made with older seeds. Both lists come
    from the load log and are inlined, so the delete probes the file_sha256 index
    (PostgreSQL) or the zone maps (DuckDB) instead of scanning every month held. -#}
{% macro release_rows_outdated_deleted() -%}
    {%- if not execute or should_full_refresh() or load_relation(this) is none -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set query -%}
        select releases.file_sha256 from {{ load_log_relation() }} as releases
        where releases.source_kind = 'chs_workbook' and releases.release_status = 'superseded'
        order by releases.file_sha256
    {%- endset -%}
    {%- set outdated = run_query(query).columns[0].values() | list -%}
    {%- if upstream_seeds() -%}
        {%- do outdated.extend(releases_missing_from(this, processed_with_current_seeds())) -%}
    {%- endif -%}
    delete from {{ this }} where {{ file_sha256_in(outdated) }}
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

{#- Pre-hook: no JIT compilation for the model's statements (PostgreSQL). Its queries hash
    and sort text, which JIT does not speed up, and their estimated cost grows with the
    months held, so past jit_above_cost every batch (and every monthly build) paid seconds
    of compilation (14 of 19.5 s for a 12-release batch of the pivot at 60 months).
    `set local` lasts only for the model's own transaction. No-op on DuckDB. -#}
{% macro without_jit() -%}
    {{ return(local_setting('jit', 'off')) }}
{%- endmacro %}
