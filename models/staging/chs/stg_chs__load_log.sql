with

source as (

    select * from {{ source('raw_chs', 'load_log') }}

),

renamed as (

    select
        ---------- ids
        file_sha256,
        superseded_by_sha256,
        ---------- what was landed
        source_kind,
        file_name,
        file_size_bytes,
        sheet_count,
        row_count,
        cell_count,
        ---------- release
        reporting_period,
        published_on,
        revised_on,
        coalesce(revised_on, published_on) as released_on,
        release_status,
        release_status = 'current' as is_current_release,
        ---------- load
        loaded_at,
        load_seconds,
        loader_version
    from source

)

select * from renamed
