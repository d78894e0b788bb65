-- Detection overrides outlived the tenant or account they were set for: one made later under the
-- same name inherited them (relaxed thresholds it was never given). They now go with it; those
-- left behind by earlier removals go here.
DELETE FROM detection_overrides
 WHERE (scope = 'tenant' AND name NOT IN (SELECT name FROM tenants))
    OR (scope = 'account' AND name NOT IN (SELECT name FROM accounts));
