{#-
    The build log: every `dbt build` records itself in the warehouse, whoever ran it
    (make build, `python -m loader build`, a release, a person running dbt), in
    <target schema>.dbt_build_log, one row per build, and the tests and nodes that did not
    pass in <target schema>.dbt_build_log_problems. It is what `python -m loader
    dq-summary`, the release summary and the report's data-quality section describe (the
    last build recorded, never the run_results.json of a later docs or compile), and what
    `python -m loader publish` checks (it refuses after a failed or unfinished build).

    on-run-start (record_build_start): a row with status 'running', when it started, the
    target, the command and the months the build checks: the months of the releases new to
    it (not yet pivoted: what the scoped tests read, macros/validation_scope.sql), or every
    month on a first build, with --full-refresh or validate_all_releases.
    on-run-end (record_build): its status ('success' or 'failed'), when it finished, and
    its tests by status; each test or node that did not pass, with where its failing rows
    are stored (or, for a test that does not store them, its compiled query). A row still 'running' after the build ended is a build that was
    stopped (killed, or the machine went down). Other dbt commands (compile, docs, test)
    record nothing, and nor do the review's builds into prefixed schemas (make review).

    (The noqa below: sqlfluff renders variants of these macros' branches and reads the
    indentation between their Jinja tags, which renders to nothing, as SQL indents.)
-#}
-- noqa: disable=LT02
{% macro records_builds() -%}
    {{ return(execute and flags.WHICH == 'build' and not var('review_schema_prefix', '')) }}
{%- endmacro %}

{#- Create the two tables, and add the columns an older build log lacks. -#}
{% macro build_log_tables_created() -%}
    {%- do run_query('create schema if not exists ' ~ target.schema) -%}
    {%- do run_query(
        'create table if not exists ' ~ target.schema ~ '.dbt_build_log ('
        ~ ' invocation_id varchar not null, target_name varchar not null, finished_at timestamp not null,'
        ~ ' nodes integer not null, failed integer not null, warned integer not null)'
    ) -%}
    {%- set added = {
        'status': 'varchar', 'command': 'varchar', 'started_at': 'timestamp',
        'months_checked': 'varchar', 'checks_every_month': 'boolean',
        'tests': 'integer', 'tests_passed': 'integer', 'tests_warned': 'integer', 'tests_failed': 'integer',
        'tests_errored': 'integer', 'tests_skipped': 'integer', 'nodes_errored': 'integer', 'message': 'varchar',
    } -%}
    {#- run_query, not adapter.get_columns_in_relation: that opens a transaction, which dbt
        rolls back after the hook, and the hook's writes with it -#}
    {%- set present = run_query(
        "select lower(column_name) from information_schema.columns where table_schema = '" ~ target.schema
        ~ "' and table_name = 'dbt_build_log'"
    ).columns[0].values() | list -%}
    {%- for column, data_type in added.items() if column not in present -%}
        {%- do run_query('alter table ' ~ target.schema ~ '.dbt_build_log add column ' ~ column ~ ' ' ~ data_type) -%}
    {%- endfor -%}
    {%- do run_query(
        'create table if not exists ' ~ target.schema ~ '.dbt_build_log_problems ('
        ~ ' invocation_id varchar not null, unique_id varchar not null, resource_type varchar not null,'
        ~ ' status varchar not null, failures integer, message varchar, relation_name varchar,'
        ~ ' compiled_path varchar)'
    ) -%}
{%- endmacro %}

{#- The months of the releases this build checks ('YYYY-MM', oldest first) and whether
    that is every month (the consumer of the scoped tests is not built yet, or everything
    is checked). -#}
{% macro build_months_checked() -%}
    {%- set every_month = scope_consumer('int_community_waits_pivoted') is none -%}
    {%- set query -%}
        select distinct releases.reporting_period
        from {{ load_log_relation() }} as releases
        where
            releases.source_kind = 'chs_workbook'
            and releases.release_status = 'current'
            and {{ new_releases_condition('int_community_waits_pivoted', 'releases.file_sha256') }}
        order by releases.reporting_period
    {%- endset -%}
    {%- set months = [] -%}
    {%- for period in run_query(query).columns[0].values() -%}
        {%- do months.append(period.strftime('%Y-%m') if period.strftime is defined else (period | string)[:7]) -%}
    {%- endfor -%}
    {{ return({'months': months, 'every_month': every_month}) }}
{%- endmacro %}

{#- The command as run, short: `build` and its selection, full refresh and vars. -#}
{% macro build_command() -%}
    {%- set args = invocation_args_dict -%}
    {%- set parts = [args.get('which', 'build')] -%}
    {%- for option in ['select', 'exclude', 'selector'] -%}
        {%- if args.get(option) -%}
            {%- set value = args[option] -%}
            {%- do parts.append('--' ~ option ~ ' ' ~ (value | join(' ') if value is not string else value)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if args.get('full_refresh') -%}{%- do parts.append('--full-refresh') -%}{%- endif -%}
    {%- if args.get('vars') and args['vars'] != '{}' -%}
        {%- do parts.append('--vars ' ~ (args['vars'] | tojson if args['vars'] is mapping else args['vars'])) -%}
    {%- endif -%}
    {{ return(parts | join(' ')) }}
{%- endmacro %}

{#- A SQL string literal (single quotes doubled), or null. -#}
{% macro build_log_literal(value) -%}
    {%- if value is none -%}null{%- else -%}'{{ (value | string) | replace("'", "''") }}'{%- endif -%}
{%- endmacro %}

{% macro record_build_start() -%}
    {%- if records_builds() -%}
        {%- do build_log_tables_created() -%}
        {%- set checked = build_months_checked() -%}
        insert into {{ target.schema }}.dbt_build_log (
            invocation_id, target_name, started_at, finished_at, nodes, failed, warned,
            status, command, months_checked, checks_every_month
        )
        values (
            '{{ invocation_id }}', '{{ target.name }}', {{ dbt.current_timestamp() }},
            {{ dbt.current_timestamp() }}, 0, 0, 0, 'running', {{ build_log_literal(build_command()) }},
            '{{ checked.months | join(",") }}', {{ 'true' if checked.every_month else 'false' }}
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- One row of dbt_build_log_problems, as SQL values: a test or node that did not pass. -#}
{% macro build_log_problem_row(result) -%}
    {%- set message = (((result.message or '') | string).strip().splitlines() or [''])[0][:500] -%}
    {%- set relation = result.node.relation_name if result.status in ['warn', 'fail'] else none -%}
    {%- set compiled = result.node.compiled_path if result.node.resource_type == 'test' else none -%}
    {%- set values = [
        build_log_literal(invocation_id), build_log_literal(result.node.unique_id),
        build_log_literal(result.node.resource_type), build_log_literal(result.status),
        result.failures if result.failures is number else 'null',
        build_log_literal(message or none), build_log_literal(relation), build_log_literal(compiled),
    ] -%}
    {{ return('(' ~ values | join(', ') ~ ')') }}
{%- endmacro %}

{% macro record_build(results) -%}
    {%- if records_builds() -%}
        {%- do build_log_tables_created() -%}
        {%- set failed = results | selectattr('status', 'in', ['error', 'fail', 'runtime error']) | list -%}
        {%- set warned = results | selectattr('status', 'equalto', 'warn') | list -%}
        {%- set tests = results | selectattr('node.resource_type', 'in', ['test', 'unit_test']) | list -%}
        {%- set others = results | rejectattr('node.resource_type', 'in', ['test', 'unit_test']) | list -%}
        {%- set nodes_errored = others | selectattr('status', 'in', ['error', 'runtime error']) | list -%}
        {%- set problems = [] -%}
        {%- for result in tests + nodes_errored -%}
            {%- if result.status not in ['pass', 'success', 'skipped'] -%}
                {%- do problems.append(build_log_problem_row(result)) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if problems -%}
            {%- do run_query(
                'insert into ' ~ target.schema ~ '.dbt_build_log_problems'
                ~ ' (invocation_id, unique_id, resource_type, status, failures, message, relation_name, compiled_path)'
                ~ ' values ' ~ problems | join(', ')
            ) -%}
        {%- endif -%}
        {%- set count_of = {} -%}
        {%- for status in ['pass', 'warn', 'fail', 'error', 'skipped'] -%}
            {%- do count_of.update({status: tests | selectattr('status', 'equalto', status) | list | length}) -%}
        {%- endfor -%}
        update {{ target.schema }}.dbt_build_log
        set
            nodes = {{ results | length }},
            failed = {{ failed | length }},
            warned = {{ warned | length }},
            status = '{{ "failed" if failed else "success" }}',
            finished_at = {{ dbt.current_timestamp() }},
            tests = {{ tests | length }},
            tests_passed = {{ count_of['pass'] }},
            tests_warned = {{ count_of['warn'] }},
            tests_failed = {{ count_of['fail'] }},
            tests_errored = {{ count_of['error'] }},
            tests_skipped = {{ count_of['skipped'] }},
            nodes_errored = {{ nodes_errored | length }}
        where invocation_id = '{{ invocation_id }}'
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
