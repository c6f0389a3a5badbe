{#-
    What `python -m loader publish` would do to the live trust_metrics table: one row per
    trust-month of the mart or of the live table (its rows with data_type 'monthly',
    matched on trust_code and period, as the team's own loader matches them; a
    trust-month the live table holds twice is two rows here, both set alike).

    action:
      update       the live row's community_health_data differs from the mart's (jsonb
                   equality) and the mart has community data: set it
      clear        the mart has no community data for the trust-month (e.g. a revision
                   removed it) but the live row has some: set it to null
      unchanged    already equal (both null included)
      missing      the mart has community data, the live table has no such trust-month:
                   listed, never created
      not_in_mart  a live trust-month the mart does not have: left alone
    Read by analyses/publish_plan.sql (the rows) and analyses/publish_plan_by_month.sql.
-#}
{% macro live_publish_plan() -%}
    with

    mart as (

        select
            trust_code,
            period,
            community_health_data
        from {{ ref('trust_metrics') }}

    ),

    live as (

        select
            id,
            upper(trim(trust_code)) as trust_code,
            cast(period as date) as period,
            community_health_data
        from {{ source('trust_metrics_live', 'trust_metrics') }}
        where data_type = 'monthly'

    ),

    joined as (

        select
            coalesce(mart.trust_code, live.trust_code) as trust_code,
            coalesce(mart.period, live.period) as period,
            live.id as live_id,
            mart.trust_code is not null as in_mart,
            live.id is not null as in_live,
            live.community_health_data as previous_value,
            mart.community_health_data as new_value
        from mart
        full outer join live
            on
                mart.trust_code = live.trust_code
                and mart.period = live.period

    )

    select
        trust_code,
        period,
        live_id,
        previous_value,
        new_value,
        case
            when not in_live and new_value is not null then 'missing'
            when not in_live then 'absent'
            when not in_mart then 'not_in_mart'
            when new_value is null and previous_value is not null then 'clear'
            when new_value is not null and (previous_value is null or new_value != previous_value) then 'update'
            else 'unchanged'
        end as action
    from joined
{%- endmacro %}
