{#-
    The waiting-list tables (Table 4, 4a, 4b, ...) rebuilt from their landed cells and
    unpivoted: one row per table x organisation row x service column. Everything is found
    by content, not position: a waiting-list table is a sheet whose title reads
    "<measure> by service, <Month YYYY>"; its header row is the row holding
    "Organisation Type"; its service columns are that row's other headings.
    A blank cell gives a null value; a zero stays 0.

    This reshapes a single source entity (a sheet stored as cells), so the self-joins on
    the cells table belong here rather than in an intermediate model.

    Incremental: rebuilding every release from cells is the costliest step of a build, so
    a run only reshapes releases not yet in the table, and the post-hook drops releases
    that a revision superseded. A release is immutable (its rows are keyed by its SHA-256),
    so this is exact; after changing this model's SQL run `dbt build --full-refresh`.
-#}
{{ config(**incremental_by_release_config(['file_sha256'], pre_hook=prefer_hash_joins())) }}
-- depends_on: {{ source('raw_chs', 'load_log') }}

with

cells as (

    select
        file_sha256,
        sheet_index,
        sheet_name,
        row_number as sheet_row,
        column_number as sheet_column,
        cell_type,
        cell_text,
        lower(trim(cell_text)) as cell_key
    from {{ source('raw_chs', 'workbook_cells') }}
    where {{ releases_to_process() }}

),

ordered_cells as (

    select
        file_sha256,
        sheet_index,
        sheet_name,
        cell_text,
        row_number() over (
            partition by file_sha256, sheet_index
            order by sheet_row, sheet_column
        ) as reading_order
    from cells

),

sheet_titles as (

    -- a sheet's title is its first non-empty cell in reading order
    select
        file_sha256,
        sheet_index,
        sheet_name,
        trim(cell_text) as title,
        {{ regex_extract('trim(cell_text)', '^(.*) by service, [A-Za-z]+ [0-9]{4}$') }} as measure_title,
        {{ regex_extract('trim(cell_text)', ' by service, ([A-Za-z]+) [0-9]{4}$') }} as title_month,
        {{ regex_extract('trim(cell_text)', ' by service, [A-Za-z]+ ([0-9]{4})$') }} as title_year
    from ordered_cells
    where reading_order = 1

),

waiting_list_sheets as (

    select
        file_sha256,
        sheet_index,
        sheet_name,
        title,
        case
            when lower(measure_title) = 'total waiting list' then 'Total waiting list'
            else trim(replace({{ regex_extract('measure_title', '^Number waiting (.*)$') }}, '>', ''))
        end as measure_label,
        make_date(
            cast(title_year as integer), {{ month_number('title_month') }}, 1
        ) as period
    from sheet_titles
    where
        lower(measure_title) = 'total waiting list'
        or measure_title like 'Number waiting %'

),

header_rows as (

    select
        cells.file_sha256,
        cells.sheet_index,
        min(cells.sheet_row) as header_row
    from cells
    inner join waiting_list_sheets
        on
            cells.file_sha256 = waiting_list_sheets.file_sha256
            and cells.sheet_index = waiting_list_sheets.sheet_index
    where cells.cell_key = 'organisation type'
    group by cells.file_sha256, cells.sheet_index

),

header_cells as (

    select
        cells.file_sha256,
        cells.sheet_index,
        cells.sheet_row,
        cells.sheet_column,
        cells.cell_key,
        trim(cells.cell_text) as heading
    from cells
    inner join header_rows
        on
            cells.file_sha256 = header_rows.file_sha256
            and cells.sheet_index = header_rows.sheet_index
            and cells.sheet_row = header_rows.header_row

),

org_columns as (

    select
        file_sha256,
        sheet_index,
        sheet_row as header_row,
        max(case when cell_key = 'organisation type' then sheet_column end) as type_column,
        max(case when cell_key = 'organisation code' then sheet_column end) as code_column,
        max(case when cell_key = 'organisation name' then sheet_column end) as name_column
    from header_cells
    group by file_sha256, sheet_index, sheet_row

),

service_columns as (

    select
        file_sha256,
        sheet_index,
        sheet_column,
        heading as service_label
    from header_cells
    where cell_key not in ('organisation type', 'organisation code', 'organisation name')

),

org_cells as (

    -- the organisation type, code and name cells of the rows below each header row
    select
        cells.file_sha256,
        cells.sheet_index,
        cells.sheet_row,
        case when cells.sheet_column = org_columns.type_column then trim(cells.cell_text) end as org_type,
        case when cells.sheet_column = org_columns.code_column then nullif(trim(cells.cell_text), '') end as org_code,
        case when cells.sheet_column = org_columns.name_column then trim(cells.cell_text) end as org_name
    from cells
    inner join org_columns
        on
            cells.file_sha256 = org_columns.file_sha256
            and cells.sheet_index = org_columns.sheet_index
            and cells.sheet_row > org_columns.header_row
            and cells.sheet_column in (org_columns.type_column, org_columns.code_column, org_columns.name_column)

),

org_rows as (

    -- one row per organisation: rows with an organisation type and name (footnotes have
    -- neither pair). Grouped, not self-joined: every join here has a key that matches at
    -- most one row per sheet, so no plan can multiply rows (see docs/performance.md)
    select
        file_sha256,
        sheet_index,
        sheet_row,
        max(org_type) as org_type,
        max(org_code) as org_code,
        max(org_name) as org_name
    from org_cells
    group by file_sha256, sheet_index, sheet_row
    having max(org_type) is not null and max(org_name) is not null

),

unpivoted as (

    select
        waiting_list_sheets.file_sha256,
        waiting_list_sheets.sheet_name,
        org_rows.sheet_row,
        service_columns.sheet_column,
        waiting_list_sheets.period,
        waiting_list_sheets.measure_label,
        org_rows.org_type,
        org_rows.org_code,
        org_rows.org_name,
        service_columns.service_label,
        value_cells.cell_type as value_type,
        value_cells.cell_text as value_text
    from org_rows
    inner join waiting_list_sheets
        on
            org_rows.file_sha256 = waiting_list_sheets.file_sha256
            and org_rows.sheet_index = waiting_list_sheets.sheet_index
    inner join service_columns
        on
            org_rows.file_sha256 = service_columns.file_sha256
            and org_rows.sheet_index = service_columns.sheet_index
    left join cells as value_cells
        on
            org_rows.file_sha256 = value_cells.file_sha256
            and org_rows.sheet_index = value_cells.sheet_index
            and org_rows.sheet_row = value_cells.sheet_row
            and service_columns.sheet_column = value_cells.sheet_column

),

final as (

    select
        ---------- lineage
        file_sha256,
        sheet_name,
        sheet_row,
        sheet_column,
        ---------- what the table is
        period,
        measure_label,
        ---------- organisation and service as published
        org_type,
        org_code,
        org_name,
        service_label,
        ---------- the cell
        value_text,
        case
            when value_type = 'n' then cast(value_text as {{ dbt.type_numeric() }})
        end as value_number
    from unpivoted

)

select * from final
