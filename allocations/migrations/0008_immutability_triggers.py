"""Records that cannot be rewritten, held by PostgreSQL itself.

An issued letter never changes (only its withdrawal is recorded, once); an approved policy
never changes; a budget's figures never change and a superseded (or not adopted, or ended)
budget never changes at all; agreed budgets keep their figures; plan lines and named informal
support are ended, not deleted. Refused on UPDATE and DELETE, so `QuerySet.update()`,
`.delete()` and raw SQL cannot skip the rule. SQLite keeps the models' Python guards.
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION allocations_letter_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'Issued letters are kept: letter % cannot be deleted', OLD.id;
    END IF;
    IF ROW(NEW.person_id, NEW.kind, NEW.source_id, NEW.figures, NEW.figures_sha256, NEW.pdf,
           NEW.sha256, NEW.size_bytes, NEW.issued_at, NEW.issued_by_id, NEW.batch_id)
       IS DISTINCT FROM
       ROW(OLD.person_id, OLD.kind, OLD.source_id, OLD.figures, OLD.figures_sha256, OLD.pdf,
           OLD.sha256, OLD.size_bytes, OLD.issued_at, OLD.issued_by_id, OLD.batch_id)
       OR OLD.withdrawn_at IS NOT NULL
       OR NEW.withdrawn_at IS NULL THEN
        RAISE EXCEPTION 'Letter % was issued and never changes (it can only be withdrawn, '
            'once)', OLD.id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER allocations_letter_guard BEFORE UPDATE OR DELETE ON allocations_letter
    FOR EACH ROW EXECUTE FUNCTION allocations_letter_guard();

CREATE OR REPLACE FUNCTION allocations_raspolicy_guard() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'approved' THEN
        RAISE EXCEPTION 'Policy % is approved: it never changes (copy it to a new draft)',
            OLD.id;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER allocations_raspolicy_guard BEFORE UPDATE OR DELETE ON allocations_raspolicy
    FOR EACH ROW EXECUTE FUNCTION allocations_raspolicy_guard();

-- A budget's figures never change; only its status moves on, and an ended version is final.
CREATE OR REPLACE FUNCTION allocations_indicativebudget_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'Budget versions are kept: budget % cannot be deleted', OLD.id;
    END IF;
    IF OLD.status IN ('superseded', 'not_adopted', 'ended') THEN
        RAISE EXCEPTION 'Budget % is %: it never changes', OLD.id, OLD.status;
    END IF;
    IF ROW(NEW.person_id, NEW.assessment_id, NEW.policy_id, NEW.reason, NEW.calculated_on,
           NEW.raw_points, NEW.reduction_percent, NEW.adjusted_points, NEW.gross_weekly_gbp,
           NEW.contingency_weekly_gbp, NEW.ras_weekly_gbp, NEW.indicative_weekly_gbp,
           NEW.annual_gbp, NEW.basis, NEW.panel_required, NEW.triggers, NEW.breakdown,
           NEW.repricing_run_id, NEW.replaces_id, NEW.created_at, NEW.created_by_id)
       IS DISTINCT FROM
       ROW(OLD.person_id, OLD.assessment_id, OLD.policy_id, OLD.reason, OLD.calculated_on,
           OLD.raw_points, OLD.reduction_percent, OLD.adjusted_points, OLD.gross_weekly_gbp,
           OLD.contingency_weekly_gbp, OLD.ras_weekly_gbp, OLD.indicative_weekly_gbp,
           OLD.annual_gbp, OLD.basis, OLD.panel_required, OLD.triggers, OLD.breakdown,
           OLD.repricing_run_id, OLD.replaces_id, OLD.created_at, OLD.created_by_id) THEN
        RAISE EXCEPTION 'Budget % keeps the figures it was calculated with: recalculate to '
            'make a new version', OLD.id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER allocations_indicativebudget_guard BEFORE UPDATE OR DELETE
    ON allocations_indicativebudget
    FOR EACH ROW EXECUTE FUNCTION allocations_indicativebudget_guard();

CREATE OR REPLACE FUNCTION allocations_agreedbudget_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'Agreed budgets are kept: agreed budget % cannot be deleted', OLD.id;
    END IF;
    IF OLD.status IN ('ended', 'not_adopted') OR
       ROW(NEW.person_id, NEW.plan_id, NEW.weekly_gbp, NEW.annual_gbp, NEW.one_off_gbp,
           NEW.direct_payment_weekly_gbp, NEW.council_managed_weekly_gbp, NEW.isf_weekly_gbp,
           NEW.contribution_weekly_gbp, NEW.council_weekly_gbp, NEW.indicative_weekly_gbp,
           NEW.difference_reason, NEW.conditions, NEW.review_date, NEW.agreed_by_id,
           NEW.agreed_at, NEW.agreed_how, NEW.replaces_id)
       IS DISTINCT FROM
       ROW(OLD.person_id, OLD.plan_id, OLD.weekly_gbp, OLD.annual_gbp, OLD.one_off_gbp,
           OLD.direct_payment_weekly_gbp, OLD.council_managed_weekly_gbp, OLD.isf_weekly_gbp,
           OLD.contribution_weekly_gbp, OLD.council_weekly_gbp, OLD.indicative_weekly_gbp,
           OLD.difference_reason, OLD.conditions, OLD.review_date, OLD.agreed_by_id,
           OLD.agreed_at, OLD.agreed_how, OLD.replaces_id) THEN
        RAISE EXCEPTION 'Agreed budget % keeps what was agreed: agree a new plan instead',
            OLD.id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER allocations_agreedbudget_guard BEFORE UPDATE OR DELETE
    ON allocations_agreedbudget FOR EACH ROW EXECUTE FUNCTION allocations_agreedbudget_guard();

-- Plan lines and named informal support are ended (who and when), never deleted or rewritten.
CREATE OR REPLACE FUNCTION allocations_plan_part_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '% rows are ended, never deleted (row %)', TG_TABLE_NAME, OLD.id;
    END IF;
    IF OLD.ended_at IS NOT NULL OR NEW.ended_at IS NULL
       OR (to_jsonb(NEW) - 'ended_at' - 'ended_by_id')
          IS DISTINCT FROM (to_jsonb(OLD) - 'ended_at' - 'ended_by_id') THEN
        RAISE EXCEPTION '% row % can only be ended, once', TG_TABLE_NAME, OLD.id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER allocations_planline_guard BEFORE UPDATE OR DELETE ON allocations_planline
    FOR EACH ROW EXECUTE FUNCTION allocations_plan_part_guard();
CREATE TRIGGER allocations_informalsupportitem_guard BEFORE UPDATE OR DELETE
    ON allocations_informalsupportitem
    FOR EACH ROW EXECUTE FUNCTION allocations_plan_part_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS allocations_informalsupportitem_guard ON allocations_informalsupportitem;
DROP TRIGGER IF EXISTS allocations_planline_guard ON allocations_planline;
DROP FUNCTION IF EXISTS allocations_plan_part_guard();
DROP TRIGGER IF EXISTS allocations_agreedbudget_guard ON allocations_agreedbudget;
DROP FUNCTION IF EXISTS allocations_agreedbudget_guard();
DROP TRIGGER IF EXISTS allocations_indicativebudget_guard ON allocations_indicativebudget;
DROP FUNCTION IF EXISTS allocations_indicativebudget_guard();
DROP TRIGGER IF EXISTS allocations_raspolicy_guard ON allocations_raspolicy;
DROP FUNCTION IF EXISTS allocations_raspolicy_guard();
DROP TRIGGER IF EXISTS allocations_letter_guard ON allocations_letter;
DROP FUNCTION IF EXISTS allocations_letter_guard();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("allocations", "0007_integrity_on_every_path"),
        ("assessments", "0007_immutability_triggers"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
