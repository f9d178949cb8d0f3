-- Star schema of the batch loader (users.csv, products.csv, orders.csv → PostgreSQL).
--
--                 dim_users (user_id)      dim_products (product_id)
--                          \                     /
--                           fact_orders (order_id, line_no)
--
-- Grain of the fact table: one order line. Dimensions are keyed by the natural ids the click
-- stream also uses (u000001, p00001), so click aggregates and orders join on the same keys.
-- The loader writes through per-transaction staging tables and MERGE: a row whose content is
-- unchanged is not touched (updated_at stays), a changed row is updated, a new one inserted.
-- Rows that fail validation go to load_rejects instead; good rows of the same file still load.

-- Dimension: one row per user.
create table dim_users (
  user_id     text        primary key,
  name        text        not null,
  email       text        not null,
  country     text,                               -- ISO 3166-1 alpha-2, may be empty
  signup_at   timestamptz not null,
  source_file text        not null,               -- file the current version came from
  loaded_at   timestamptz not null default now(), -- first load
  updated_at  timestamptz not null default now()  -- last load that changed the row
);

-- Dimension: one row per product; price is the current list price.
create table dim_products (
  product_id  text          primary key,
  name        text          not null,
  category    text          not null,
  price       numeric(14,2) not null check (price >= 0),
  created_at  timestamptz   not null,
  source_file text          not null,
  loaded_at   timestamptz   not null default now(),
  updated_at  timestamptz   not null default now()
);

-- Fact: one row per order line. Measures: quantity, unit_price, line_total; order_total is
-- the whole order's total repeated on each of its lines (degenerate dimension: order_id).
create table fact_orders (
  order_id    text          not null,
  line_no     integer       not null check (line_no >= 1),
  user_id     text          not null references dim_users (user_id),
  product_id  text          not null references dim_products (product_id),
  quantity    integer       not null check (quantity >= 1),
  unit_price  numeric(14,2) not null check (unit_price >= 0),
  line_total  numeric(14,2) not null check (line_total >= 0),
  order_total numeric(14,2) not null check (order_total >= 0),
  ordered_at  timestamptz   not null,
  order_date  date          generated always as ((ordered_at at time zone 'UTC')::date) stored,
  status      text          not null,
  source_file text          not null,
  loaded_at   timestamptz   not null default now(),
  updated_at  timestamptz   not null default now(),
  primary key (order_id, line_no)
);
create index fact_orders_user_idx on fact_orders (user_id);
create index fact_orders_product_idx on fact_orders (product_id);
create index fact_orders_date_idx on fact_orders (order_date);

-- Rows the loader refused, with the reason. Keyed by (file, line, hash of the raw line), so
-- loading the same file again adds nothing, while a corrected file's new bad lines do add.
create table load_rejects (
  id          bigint generated always as identity primary key,
  file        text        not null,  -- s3://bucket/key or the local path
  line_number integer     not null,  -- 1-based line in the file (header is line 1)
  raw_line    text        not null,
  raw_hash    text        not null,  -- md5 of raw_line
  reason      text        not null,
  loaded_at   timestamptz not null default now(),
  unique (file, line_number, raw_hash)
);

-- One row per distinct file content loaded: (file, sha256 of its bytes). Loading the same
-- content again inserts nothing; the figures are those of the first load. The loader module
-- also uses the S3 ETag to skip files it has already loaded without reading them.
create table load_files (
  file           text        not null,
  content_sha256 text        not null,
  etag           text,
  kind           text        not null check (kind in ('users', 'products', 'orders')),
  rows_read      integer     not null,
  inserted       integer     not null,
  updated        integer     not null,
  unchanged      integer     not null,
  rejected       integer     not null,
  loaded_at      timestamptz not null default now(),
  primary key (file, content_sha256)
);
