{#-
    The anomaly rules of int_organisation_months_flagged, one macro each, so the model
    reads as the method. A month is compared with the calendar month before; the bounds
    are dbt vars (dbt_project.yml). The data is as published: these flag months, they do
    not change them. Unit-tested in models/intermediate/_int__models.yml.
-#}

{#- First day of the month `months` after (before, when negative) a first-of-month date:
    plain SQL both DuckDB and PostgreSQL read alike. -#}
{% macro add_months(date_expression, months) -%}
    cast({{ date_expression }} + interval '{{ months }} month' as date)
{%- endmacro %}

{#- Every published measure of two rows of int_community_waits_pivoted (aliases `left`,
    `right`) is the same, blanks included: the total and the seven weeks-waited bands,
    over 52 weeks in its canonical form, so months before and after the December 2024
    split compare alike. -#}
{% macro all_measures_equal(left, right) -%}
    {%- for measure in waiting_measures()[:8] %}
        {{ left }}.{{ measure }} is not distinct from {{ right }}.{{ measure }}
        {%- if not loop.last %} and{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- Rolled forward: every service of the provider, its total and every band, equals the
    month before's (blank services included), and the list is over `anomaly_small_list`
    (a handful of patients can stay put). Figures carried forward, not measured: a flow
    estimate would read them as nobody joining or leaving. -#}
{% macro is_rolled_forward(total, services, services_unchanged) -%}
    coalesce({{ services_unchanged }} = {{ services }} and {{ total }} > {{ var('anomaly_small_list') }}, false)
{%- endmacro %}

{#- Zero glitch: every service the provider reports is 0 the month after a list over
    `anomaly_small_list` (RNA, May 2025: 11 services at 0 between 4,548 and 5,089): a
    submission published as zeros. -#}
{% macro is_zero_glitch(total, services_reported, previous_total) -%}
    coalesce(
        {{ services_reported }} > 0
        and {{ total }} = 0
        and {{ previous_total }} > {{ var('anomaly_small_list') }},
        false
    )
{%- endmacro %}

{#- A cause rather than a flag: a list over `anomaly_small_list` the month after one with
    every service at 0 (RNA, June 2025), whose change from the month before is no
    movement either. -#}
{% macro follows_zero_month(total, previous_total, previous_services_reported) -%}
    coalesce(
        {{ previous_services_reported }} > 0
        and {{ previous_total }} = 0
        and {{ total }} > {{ var('anomaly_small_list') }},
        false
    )
{%- endmacro %}

{#- Large change: the total is at least `anomaly_increase_ratio` times the month before's,
    or at most `anomaly_decrease_ratio` times it, and the list is over `anomaly_min_list`
    in either month (a small list doubles easily). -#}
{% macro is_large_change(total, previous_total) -%}
    coalesce(
        greatest({{ total }}, {{ previous_total }}) > {{ var('anomaly_min_list') }}
        and (
            {{ total }} >= {{ var('anomaly_increase_ratio') }} * {{ previous_total }}
            or {{ total }} <= {{ var('anomaly_decrease_ratio') }} * {{ previous_total }}
        ),
        false
    )
{%- endmacro %}

{#- Service step: one provider's (or trust's) service list is at least
    `service_step_increase_ratio` times the month before's, or at most
    `service_step_decrease_ratio` times it, with a list over `service_step_min_list` in
    either month (int_service_months_flagged). A list of 0 counts (a step from or to 0 is
    a step); a blank month is not compared (the capacity estimates take no flow across a
    blank month anyway). The bounds are far wider than the organisation's x2: one service
    of a provider moves more than its whole list (dbt_project.yml says why these). -#}
{% macro is_service_step(total, previous_total) -%}
    coalesce(
        greatest({{ total }}, {{ previous_total }}) > {{ var('service_step_min_list') }}
        and (
            {{ total }} >= {{ var('service_step_increase_ratio') }} * {{ previous_total }}
            or {{ total }} <= {{ var('service_step_decrease_ratio') }} * {{ previous_total }}
        ),
        false
    )
{%- endmacro %}

{#- The likely cause of a service step, the known ones first, '; ' between them:
    `changes` an organisation change of the month (seeds/trust_successors.csv),
    `organisation_flag` the organisation month's own flag (int_organisation_months_flagged),
    `opposite_services` other services of the same organisation and month that stepped the
    other way (a list reported under another service), then 0 before or after (a service
    reported for the first time, or not reported); else a reporting change of the one
    service. Null when the month is not a step. -#}
{% macro service_step_likely_cause(
    is_step, changes, organisation_flag, opposite_services, total, previous_total
) -%}
    case
        when {{ is_step }}
            then coalesce(
                nullif(concat_ws(
                    '; ',
                    {{ changes }},
                    case when {{ organisation_flag }} is not null then 'organisation month flagged: ' || {{ organisation_flag }} end,
                    case when {{ opposite_services }} is not null
                        then 'list moved between services (' || {{ opposite_services }} || ' stepped the other way)' end,
                    case when {{ previous_total }} = 0 then '0 the month before: service reported for the first time, or again' end,
                    case when {{ total }} = 0 then 'published as 0: service not reported this month' end
                ), ''),
                'step in one service: reporting change likely'
            )
    end
{%- endmacro %}

{#-
    For an incremental run of int_organisation_months_flagged (and int_service_months_flagged,
    which flags months the same way): the releases whose months
    get their flags computed, the releases the model does not hold yet (with the current
    seeds) and the month after each (its comparison changed), and the releases read, those
    and the month before each. {'flagged': [...], 'read': [...]}, SHA-256s from the load
    log, inlined like the other incremental models' (macros/incremental_by_release.sql).
-#}
{% macro releases_to_flag() -%}
    {%- set new_releases = releases_missing_from(this, processed_with_current_seeds()) -%}
    {%- if not new_releases -%}
        {{ return({'flagged': [], 'read': []}) }}
    {%- endif -%}
    {%- set query -%}
        with new_months as (
            select reporting_period from {{ load_log_relation() }}
            where {{ file_sha256_in(new_releases) }}
        )
        select
            releases.file_sha256,
            max(case when releases.reporting_period >= new_months.reporting_period then 1 else 0 end) as is_flagged
        from {{ load_log_relation() }} as releases
        inner join new_months
            on releases.reporting_period between {{ add_months('new_months.reporting_period', -1) }}
            and {{ add_months('new_months.reporting_period', 1) }}
        where releases.source_kind = 'chs_workbook' and releases.release_status = 'current'
        group by releases.file_sha256
        order by releases.file_sha256
    {%- endset -%}
    {%- set releases = {'flagged': [], 'read': []} -%}
    {%- for file_sha256, is_flagged in run_query(query).rows -%}
        {%- do releases.read.append(file_sha256) -%}
        {%- if is_flagged -%}
            {%- do releases.flagged.append(file_sha256) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(releases) }}
{%- endmacro %}
