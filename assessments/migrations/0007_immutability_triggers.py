"""Records that cannot be rewritten, held by PostgreSQL itself (as the access log already is).

A published or retired questionnaire version never changes, nor do its sections, questions,
options or the options' funding triggers; publishing needs a second person (four eyes); a
funding trigger's code is fixed once a published version uses it; a submitted assessment's
answers, RAS inputs and eligibility decision never change. Each is refused on UPDATE and
DELETE (and INSERT where a row would join a locked record), so `QuerySet.update()`,
`.delete()` and raw SQL cannot skip the rule. SQLite (only for trying the product locally)
keeps the models' own Python guards.
"""

from django.db import migrations

CREATE = r"""
-- Questionnaire versions: only draft -> published -> retired, and who/when of those steps.
CREATE OR REPLACE FUNCTION assessments_questionnaireversion_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'Questionnaire version % is %: it is kept, never deleted',
                OLD.number, OLD.status;
        END IF;
        RETURN OLD;
    END IF;
    -- Leaving draft (or a row written as anything but a draft) needs a named second person.
    IF (TG_OP = 'INSERT' OR OLD.status = 'draft') AND NEW.status <> 'draft'
       AND (NEW.published_by_id IS NULL
            OR NEW.published_by_id IS NOT DISTINCT FROM NEW.created_by_id) THEN
        RAISE EXCEPTION 'Questionnaire version % must be published by someone other than '
            'the person who drafted or imported it', NEW.number;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status <> 'draft' THEN
        IF ROW(NEW.title, NEW.number, NEW.notes, NEW.created_at, NEW.created_by_id,
               NEW.published_at, NEW.published_by_id)
           IS DISTINCT FROM ROW(OLD.title, OLD.number, OLD.notes, OLD.created_at,
               OLD.created_by_id, OLD.published_at, OLD.published_by_id)
           OR NOT (NEW.status = OLD.status
                   OR (OLD.status = 'published' AND NEW.status = 'retired'))
           OR (NEW.status = OLD.status AND ROW(NEW.retired_at, NEW.retired_by_id)
               IS DISTINCT FROM ROW(OLD.retired_at, OLD.retired_by_id)) THEN
            RAISE EXCEPTION 'Questionnaire version % is %: it can no longer be changed',
                OLD.number, OLD.status;
        END IF;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assessments_questionnaireversion_guard
    BEFORE INSERT OR UPDATE OR DELETE ON assessments_questionnaireversion
    FOR EACH ROW EXECUTE FUNCTION assessments_questionnaireversion_guard();

-- Sections, questions, options and option triggers belong to a version: draft only.
CREATE OR REPLACE FUNCTION assessments_version_status(version bigint) RETURNS text AS $$
    SELECT status FROM assessments_questionnaireversion WHERE id = version;
$$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION assessments_version_part_guard() RETURNS trigger AS $$
DECLARE
    versions bigint[];
    v bigint;
BEGIN
    IF TG_TABLE_NAME IN ('assessments_section', 'assessments_question') THEN
        versions := ARRAY[CASE WHEN TG_OP <> 'INSERT' THEN OLD.version_id END,
                          CASE WHEN TG_OP <> 'DELETE' THEN NEW.version_id END];
    ELSIF TG_TABLE_NAME = 'assessments_answeroption' THEN
        versions := ARRAY(
            SELECT q.version_id FROM assessments_question q
            WHERE q.id IN (CASE WHEN TG_OP <> 'INSERT' THEN OLD.question_id END,
                           CASE WHEN TG_OP <> 'DELETE' THEN NEW.question_id END));
    ELSE  -- assessments_answeroption_triggers
        versions := ARRAY(
            SELECT q.version_id FROM assessments_answeroption o
            JOIN assessments_question q ON q.id = o.question_id
            WHERE o.id IN (CASE WHEN TG_OP <> 'INSERT' THEN OLD.answeroption_id END,
                           CASE WHEN TG_OP <> 'DELETE' THEN NEW.answeroption_id END));
    END IF;
    FOREACH v IN ARRAY versions LOOP
        IF v IS NOT NULL AND assessments_version_status(v) IS DISTINCT FROM 'draft'
           AND assessments_version_status(v) IS NOT NULL THEN
            RAISE EXCEPTION 'Part of a % questionnaire version: % refused on %',
                assessments_version_status(v), TG_OP, TG_TABLE_NAME;
        END IF;
    END LOOP;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assessments_section_guard BEFORE INSERT OR UPDATE OR DELETE
    ON assessments_section FOR EACH ROW EXECUTE FUNCTION assessments_version_part_guard();
CREATE TRIGGER assessments_question_guard BEFORE INSERT OR UPDATE OR DELETE
    ON assessments_question FOR EACH ROW EXECUTE FUNCTION assessments_version_part_guard();
CREATE TRIGGER assessments_answeroption_guard BEFORE INSERT OR UPDATE OR DELETE
    ON assessments_answeroption FOR EACH ROW EXECUTE FUNCTION assessments_version_part_guard();
CREATE TRIGGER assessments_answeroption_triggers_guard BEFORE INSERT OR UPDATE OR DELETE
    ON assessments_answeroption_triggers
    FOR EACH ROW EXECUTE FUNCTION assessments_version_part_guard();

-- A funding trigger's code is fixed once a published (or retired) version uses it.
CREATE OR REPLACE FUNCTION assessments_fundingtrigger_guard() RETURNS trigger AS $$
DECLARE
    used text;
BEGIN
    SELECT string_agg(DISTINCT 'version ' || v.number, ', ') INTO used
    FROM assessments_answeroption_triggers ot
    JOIN assessments_answeroption o ON o.id = ot.answeroption_id
    JOIN assessments_question q ON q.id = o.question_id
    JOIN assessments_questionnaireversion v ON v.id = q.version_id
    WHERE ot.fundingtrigger_id = OLD.id AND v.status <> 'draft';
    IF used IS NOT NULL AND (TG_OP = 'DELETE' OR NEW.code <> OLD.code) THEN
        RAISE EXCEPTION 'Funding trigger code "%" is used by published questionnaire %: it '
            'cannot change', OLD.code, used;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assessments_fundingtrigger_guard BEFORE UPDATE OR DELETE
    ON assessments_fundingtrigger FOR EACH ROW EXECUTE FUNCTION assessments_fundingtrigger_guard();

-- A submitted (or superseded, or withdrawn) assessment is locked: its answers, its RAS inputs
-- and its eligibility decision never change; only submitted -> superseded remains.
CREATE OR REPLACE FUNCTION assessments_assessment_status(assessment bigint) RETURNS text AS $$
    SELECT status FROM assessments_assessment WHERE id = assessment;
$$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION assessments_assessment_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'Assessments are kept: withdraw a draft instead of deleting it';
    END IF;
    IF OLD.status <> 'draft' AND (
        ROW(NEW.person_id, NEW.questionnaire_id, NEW.supported_by, NEW.assessment_date,
            NEW.informal_support, NEW.carer_assessed, NEW.carer_able_and_willing,
            NEW.carer_impact, NEW.submitted_at, NEW.submitted_by_id, NEW.withdrawn_at,
            NEW.withdrawn_by_id, NEW.withdrawn_reason, NEW.started_at, NEW.started_by_id)
        IS DISTINCT FROM
        ROW(OLD.person_id, OLD.questionnaire_id, OLD.supported_by, OLD.assessment_date,
            OLD.informal_support, OLD.carer_assessed, OLD.carer_able_and_willing,
            OLD.carer_impact, OLD.submitted_at, OLD.submitted_by_id, OLD.withdrawn_at,
            OLD.withdrawn_by_id, OLD.withdrawn_reason, OLD.started_at, OLD.started_by_id)
        OR NOT (NEW.status = OLD.status
                OR (OLD.status = 'submitted' AND NEW.status = 'superseded'))
        OR (NEW.status = OLD.status AND ROW(NEW.superseded_at, NEW.superseded_by_id)
            IS DISTINCT FROM ROW(OLD.superseded_at, OLD.superseded_by_id))
    ) THEN
        RAISE EXCEPTION 'Assessment % is %: it can no longer be changed', OLD.id, OLD.status;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assessments_assessment_guard BEFORE UPDATE OR DELETE
    ON assessments_assessment FOR EACH ROW EXECUTE FUNCTION assessments_assessment_guard();

CREATE OR REPLACE FUNCTION assessments_assessment_part_guard() RETURNS trigger AS $$
DECLARE
    ids bigint[];
    a bigint;
BEGIN
    IF TG_TABLE_NAME IN ('assessments_answer', 'assessments_eligibilitydetermination') THEN
        ids := ARRAY[CASE WHEN TG_OP <> 'INSERT' THEN OLD.assessment_id END,
                     CASE WHEN TG_OP <> 'DELETE' THEN NEW.assessment_id END];
    ELSE  -- assessments_outcomefinding
        ids := ARRAY(
            SELECT d.assessment_id FROM assessments_eligibilitydetermination d
            WHERE d.id IN (CASE WHEN TG_OP <> 'INSERT' THEN OLD.determination_id END,
                           CASE WHEN TG_OP <> 'DELETE' THEN NEW.determination_id END));
    END IF;
    FOREACH a IN ARRAY ids LOOP
        IF a IS NOT NULL AND assessments_assessment_status(a) IS DISTINCT FROM 'draft'
           AND assessments_assessment_status(a) IS NOT NULL THEN
            RAISE EXCEPTION 'Assessment % is %: % refused on %', a,
                assessments_assessment_status(a), TG_OP, TG_TABLE_NAME;
        END IF;
    END LOOP;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assessments_answer_guard BEFORE INSERT OR UPDATE OR DELETE
    ON assessments_answer FOR EACH ROW EXECUTE FUNCTION assessments_assessment_part_guard();
CREATE TRIGGER assessments_eligibilitydetermination_guard BEFORE INSERT OR UPDATE OR DELETE
    ON assessments_eligibilitydetermination
    FOR EACH ROW EXECUTE FUNCTION assessments_assessment_part_guard();
CREATE TRIGGER assessments_outcomefinding_guard BEFORE INSERT OR UPDATE OR DELETE
    ON assessments_outcomefinding
    FOR EACH ROW EXECUTE FUNCTION assessments_assessment_part_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS assessments_outcomefinding_guard ON assessments_outcomefinding;
DROP TRIGGER IF EXISTS assessments_eligibilitydetermination_guard
    ON assessments_eligibilitydetermination;
DROP TRIGGER IF EXISTS assessments_answer_guard ON assessments_answer;
DROP FUNCTION IF EXISTS assessments_assessment_part_guard();
DROP TRIGGER IF EXISTS assessments_assessment_guard ON assessments_assessment;
DROP FUNCTION IF EXISTS assessments_assessment_guard();
DROP FUNCTION IF EXISTS assessments_assessment_status(bigint);
DROP TRIGGER IF EXISTS assessments_fundingtrigger_guard ON assessments_fundingtrigger;
DROP FUNCTION IF EXISTS assessments_fundingtrigger_guard();
DROP TRIGGER IF EXISTS assessments_answeroption_triggers_guard ON assessments_answeroption_triggers;
DROP TRIGGER IF EXISTS assessments_answeroption_guard ON assessments_answeroption;
DROP TRIGGER IF EXISTS assessments_question_guard ON assessments_question;
DROP TRIGGER IF EXISTS assessments_section_guard ON assessments_section;
DROP FUNCTION IF EXISTS assessments_version_part_guard();
DROP FUNCTION IF EXISTS assessments_version_status(bigint);
DROP TRIGGER IF EXISTS assessments_questionnaireversion_guard ON assessments_questionnaireversion;
DROP FUNCTION IF EXISTS assessments_questionnaireversion_guard();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("assessments", "0006_person_lock_version_role_history")]

    operations = [migrations.RunPython(forwards, backwards)]
