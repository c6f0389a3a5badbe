{#-
    England's waiting lists by month and service category (adult, cyp), from the
    National rows: list size, patients up to 18 weeks, long waits, and the month the
    over-52-weeks band was first split into 52-104 and over 104 weeks (December 2024).
    Release report, sections 1 and 2.
-#}
{{ config(materialized='view') }}

with

community_waits as (

    select * from {{ ref('fct_community_waits') }}
    where org_type = 'National'

),

by_category as (

    select
        period,
        service_category,
        cast(sum(total_waiting) as bigint) as total_waiting,
        cast(sum({{ waiting_in_bands(within_18_weeks=true) }}) as bigint) as waiting_within_18_weeks,
        cast(sum({{ waiting_in_bands() }}) as bigint) as waiting_in_bands,
        cast(sum(wait_52_plus_weeks) as bigint) as wait_52_plus_weeks,
        cast(sum(wait_104_plus_weeks) as bigint) as wait_104_plus_weeks,
        count(wait_104_plus_weeks) > 0 as has_52_week_split
    from community_waits
    group by period, service_category

),

band_change as (

    select min(period) as first_split_period
    from by_category
    where has_52_week_split

),

final as (

    select
        by_category.period,
        by_category.service_category,
        by_category.total_waiting,
        by_category.waiting_within_18_weeks,
        by_category.waiting_in_bands,
        {{ percent('by_category.waiting_within_18_weeks', 'by_category.waiting_in_bands') }} as pct_within_18_weeks,
        by_category.wait_52_plus_weeks,
        by_category.wait_104_plus_weeks,
        by_category.has_52_week_split,
        coalesce(by_category.period = band_change.first_split_period, false) as is_band_change_month
    from by_category
    cross join band_change

)

select * from final
