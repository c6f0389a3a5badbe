-- Status report, validation query 2: trusts with community data in fewer than all the
-- months landed, and which months they do have. About trust_metrics' own
-- community_health_data, so trusts of trust_metrics only.
with

trust_metrics as (

    select * from {{ ref('trust_metrics') }}

),

months as (

    select count(distinct period) as months_landed
    from trust_metrics
    where community_health_data is not null

),

per_trust as (

    select
        trust_code,
        max(trust_name) as trust_name,
        count(*) as months_with_data,
        string_agg(cast(period as {{ dbt.type_string() }}), ', ' order by period) as periods_with_data
    from trust_metrics
    where community_health_data is not null
    group by trust_code

)

select
    per_trust.trust_code,
    per_trust.trust_name,
    per_trust.months_with_data,
    months.months_landed,
    per_trust.periods_with_data
from per_trust
cross join months
where per_trust.months_with_data < months.months_landed
order by per_trust.months_with_data, per_trust.trust_code
