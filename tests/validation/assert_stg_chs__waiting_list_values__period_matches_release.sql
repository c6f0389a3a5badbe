-- Every waiting-list table's month (read from its title in dbt) equals the month the
-- loader filed the release under (read from the same workbook): the two readings of a
-- release must agree, or a revision could replace the wrong month. Checks the releases
-- not yet pivoted (macros/validation_scope.sql).
with

waiting_list_values as (

    select * from {{ ref('stg_chs__waiting_list_values') }}
    where {{ new_releases_condition() }}

),

releases as (

    select * from {{ ref('stg_chs__load_log') }}

),

table_periods as (

    select distinct
        file_sha256,
        sheet_name,
        period
    from waiting_list_values

),

disagreements as (

    select
        table_periods.file_sha256,
        table_periods.sheet_name,
        table_periods.period as title_period,
        releases.reporting_period as release_period
    from table_periods
    left join releases
        on table_periods.file_sha256 = releases.file_sha256
    where releases.reporting_period is null or releases.reporting_period != table_periods.period

)

select * from disagreements
