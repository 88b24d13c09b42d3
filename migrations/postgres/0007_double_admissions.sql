-- Double admissions (uploaded counted entries kept as forced `already_redeemed`), newest
-- first, for the server's conflicts list without reading every scan.
create index scans_double_admissions on scans (at desc)
    where forced and verdict = 'already_redeemed';
