-- Community bottlenecks as early indicators of acute pressure: per trust, and for England,
-- the correlation of its community MSK waiting list with its RTT trauma and orthopaedics
-- waiting list at lags of 0 to 3 months in either direction (which leads?), for two
-- measures: list size (community total waiting vs RTT incomplete pathways) and the share
-- within 18 weeks. lag_months = L pairs community month t with RTT month t + L: L > 0 is
-- community leading, L < 0 RTT leading. months_paired is the number of months behind each
-- correlation (12 landed months give at most 12, 9 at a 3-month lag): few, so read them as
-- leads to look at, not findings. England: the National community row against the sum over
-- the trusts in trust_metrics. Correlations need 6 months paired and some variation.
-- Trusts of trust_metrics only: the RTT figures are trust_metrics' own, and the NHS trusts it
-- holds no row for (community, mental health and combined trusts) have none.
{%- set lags = [-3, -2, -1, 0, 1, 2, 3] %}

with

capacity as (

    select * from {{ ref('fct_waiting_list_capacity') }}
    where service_category = 'adult' and service_key = 'msk_service'

),

trust_metrics as (

    select * from {{ ref('trust_metrics') }}

),

community as (

    select
        org_level,
        case when org_level = 'National' then 'England' else trust_code end as trust_code,
        org_name,
        period,
        cast(total_waiting as {{ dbt.type_float() }}) as list_size,
        pct_within_18_weeks
    from capacity
    where org_level in ('Trust', 'National')

),

rtt_by_trust as (

    select
        trust_code,
        period,
        {{ rtt_measure('rtt_data', 'rtt_trauma_orthopaedics_total_incomplete_pathways') }} as list_size,
        {{ rtt_measure('rtt_data', 'rtt_trauma_orthopaedics_total_within_18_weeks') }} as within_18_weeks
    from trust_metrics

),

rtt_by_trust_and_national as (

    select * from rtt_by_trust
    union all
    select
        'England' as trust_code,
        period,
        sum(list_size) as list_size,
        sum(within_18_weeks) as within_18_weeks
    from rtt_by_trust
    where list_size > 0 and within_18_weeks is not null
    group by period

),

rtt as (

    select
        trust_code,
        period,
        list_size,
        100 * within_18_weeks / nullif(list_size, 0) as pct_within_18_weeks
    from rtt_by_trust_and_national

),

lags as (

    {%- for lag in lags %}
        select {{ lag }} as lag_months
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

paired as (

    select
        community.org_level,
        community.trust_code,
        lags.lag_months,
        'list_size' as measure,
        community.list_size as community_value,
        rtt.list_size as rtt_value
    from community
    cross join lags
    inner join rtt
        on
            community.trust_code = rtt.trust_code
            and rtt.period = {{ dbt.dateadd('month', 'lags.lag_months', 'community.period') }}
    union all
    select
        community.org_level,
        community.trust_code,
        lags.lag_months,
        'pct_within_18_weeks' as measure,
        community.pct_within_18_weeks as community_value,
        rtt.pct_within_18_weeks as rtt_value
    from community
    cross join lags
    inner join rtt
        on
            community.trust_code = rtt.trust_code
            and rtt.period = {{ dbt.dateadd('month', 'lags.lag_months', 'community.period') }}

),

lag_correlations as (

    select
        org_level,
        trust_code,
        measure,
        lag_months,
        count(*) as months_paired,
        case
            when count(*) >= 6 and stddev_samp(community_value) > 0 and stddev_samp(rtt_value) > 0
                then round(cast(corr(community_value, rtt_value) as numeric), 3)
        end as pearson_r
    from paired
    where community_value is not null and rtt_value is not null
    group by org_level, trust_code, measure, lag_months

),

strongest as (

    select
        org_level,
        trust_code,
        measure,
        lag_months,
        pearson_r,
        row_number() over (
            partition by org_level, trust_code, measure
            order by abs(pearson_r) desc, abs(lag_months) asc, lag_months asc
        ) as strength_rank
    from lag_correlations
    where pearson_r is not null

),

names as (

    select
        trust_code,
        max(org_name) as org_name
    from community
    group by trust_code

),

by_trust as (

    select
        lag_correlations.org_level,
        lag_correlations.trust_code,
        names.org_name,
        lag_correlations.measure,
        {%- for lag in lags %}
            {%- set leader = 'rtt_leads_' ~ (-lag) if lag < 0 else 'community_leads_' ~ lag %}
            {%- set suffix = 'same_month' if lag == 0 else leader %}
            max(case when lag_correlations.lag_months = {{ lag }} then lag_correlations.pearson_r end)
                as pearson_r_{{ suffix }},
            max(case when lag_correlations.lag_months = {{ lag }} then lag_correlations.months_paired end)
                as months_{{ suffix }},
        {%- endfor %}
        max(case when strongest.strength_rank = 1 then strongest.lag_months end) as strongest_lag_months,
        max(case when strongest.strength_rank = 1 then strongest.pearson_r end) as strongest_pearson_r
    from lag_correlations
    left join strongest
        on
            lag_correlations.org_level = strongest.org_level
            and lag_correlations.trust_code = strongest.trust_code
            and lag_correlations.measure = strongest.measure
            and lag_correlations.lag_months = strongest.lag_months
    inner join names
        on lag_correlations.trust_code = names.trust_code
    group by lag_correlations.org_level, lag_correlations.trust_code, names.org_name, lag_correlations.measure

)

select * from by_trust
where strongest_lag_months is not null
order by org_level asc, measure asc, abs(strongest_pearson_r) desc, trust_code asc
