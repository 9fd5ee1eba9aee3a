"""Columns map themselves: the headers of HubSpot, Salesforce, Pipedrive, Zoho, Google, Outlook,
Thunderbird and crm's own exports, in any case and spacing, and in German, French, Spanish
and Chinese, are recognised without --map."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from crmcli.errors import Invalid, UsageError

KINDS = ("contacts", "companies", "deals", "activities")
FIELDS = {
    "contacts": (
        "name",
        "first_name",
        "middle_name",
        "last_name",
        "emails",
        "phones",
        "title",
        "company",
        "tags",
        "owner",
        "source",
        "notes",
        "created_at",
        "external_id",
        "cadence",
    ),
    "companies": (
        "name",
        "domain",
        "website",
        "phone",
        "tags",
        "owner",
        "source",
        "notes",
        "created_at",
        "external_id",
    ),
    "deals": (
        "title",
        "amount",
        "currency",
        "stage",
        "pipeline",
        "status",
        "close_date",
        "contact",
        "company",
        "owner",
        "source",
        "notes",
        "lost_reason",
        "created_at",
        "external_id",
    ),
    "activities": ("contact", "company", "deal", "type", "text", "at", "by"),
}
IGNORE = "ignore"


def header_key(text: str) -> str:
    """'E-mail 1 - Value' → 'email1value'; accents and case folded, CJK kept."""
    folded = unicodedata.normalize("NFKD", str(text).replace("\ufeff", ""))
    folded = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    return re.sub(r"[\W_]+", "", folded)


# Exact header keys per field; the patterns below catch the numbered and labelled variants.
_EXACT: dict[str, dict[str, set[str]]] = {
    "contacts": {
        "name": {
            "name",
            "fullname",
            "displayname",
            "contactname",
            "contact",
            "personname",
            "姓名",
            "名字",
            "联系人",
            "nombre",
            "nomcomplet",
            "vollständigername",
            "kontakt",
        },
        "first_name": {"firstname", "givenname", "first", "vorname", "prenom", "名", "nombrepila"},
        "middle_name": {"middlename", "additionalname", "secondname"},
        "last_name": {
            "lastname",
            "surname",
            "familyname",
            "last",
            "nachname",
            "nomdefamille",
            "姓",
            "apellido",
            "apellidos",
        },
        "title": {
            "title",
            "jobtitle",
            "position",
            "role",
            "organizationtitle",
            "organization1title",
            "职位",
            "职务",
            "titel",
            "cargo",
            "poste",
            "fonction",
        },
        "company": {
            "company",
            "companyname",
            "organization",
            "organisation",
            "organizationname",
            "organization1name",
            "accountname",
            "account",
            "firma",
            "firmenname",
            "unternehmen",
            "公司",
            "单位",
            "公司名称",
            "empresa",
            "societe",
            "entreprise",
            "associatedcompany",
            "personorganization",
        },
        "tags": {
            "tags",
            "tag",
            "labels",
            "label",
            "categories",
            "category",
            "groupmembership",
            "标签",
            "schlagworte",
            "etiquetas",
        },
        "owner": {"owner", "contactowner", "ownerid", "ownername", "personowner", "负责人", "besitzer", "propietario"},
        "source": {"source", "leadsource", "originalsource", "来源", "quelle", "origen"},
        "notes": {
            "notes",
            "note",
            "description",
            "comments",
            "comment",
            "备注",
            "notizen",
            "notiz",
            "bemerkung",
            "notas",
        },
        "created_at": {
            "createdate",
            "createddate",
            "created",
            "createdat",
            "dateadded",
            "创建时间",
            "erstellt",
            "erstelltam",
            "personaddtime",
        },
        "external_id": {"recordid", "id", "contactid", "personid", "externalid", "leadid", "uid"},
        "cadence": {"cadence", "cadencedays", "keepintouch"},
        "custom_pairs": {"custompairs"},  # key=value lines, as crm's own vCards carry custom fields
    },
    "companies": {
        "name": {
            "name",
            "company",
            "companyname",
            "organization",
            "organisation",
            "organizationname",
            "accountname",
            "account",
            "firma",
            "firmenname",
            "unternehmen",
            "公司",
            "公司名称",
            "empresa",
            "societe",
            "entreprise",
        },
        "domain": {"domain", "companydomainname", "domainname", "域名"},
        "website": {"website", "websiteurl", "url", "web", "homepage", "网站", "webseite"},
        "phone": {"phone", "phonenumber", "companyphone", "telephone", "telefon", "电话", "telefono"},
        "tags": {"tags", "tag", "labels", "categories", "标签"},
        "owner": {"owner", "companyowner", "ownerid", "organizationowner", "负责人"},
        "source": {"source", "leadsource", "originalsource", "来源"},
        "notes": {"notes", "note", "description", "备注"},
        "created_at": {"createdate", "createddate", "created", "createdat", "创建时间"},
        "external_id": {"recordid", "id", "companyid", "accountid", "organizationid", "externalid"},
    },
    "deals": {
        "title": {
            "title",
            "dealname",
            "dealtitle",
            "opportunityname",
            "name",
            "deal",
            "opportunity",
            "商机",
            "商机名称",
        },
        "amount": {"amount", "value", "dealvalue", "dealamount", "金额", "betrag", "wert", "importe", "montant"},
        "currency": {"currency", "dealcurrency", "currencyisocode", "币种", "währung", "wahrung", "moneda", "devise"},
        "stage": {"stage", "dealstage", "stagename", "阶段", "phase", "etapa"},
        "pipeline": {"pipeline", "dealpipeline"},
        "status": {"status", "dealstatus"},
        "close_date": {
            "closedate",
            "expectedclosedate",
            "closingdate",
            "dealclosingdate",
            "dealexpectedclosedate",
            "closedatum",
            "预计成交日期",
        },
        "contact": {
            "contact",
            "contactemail",
            "email",
            "personname",
            "person",
            "contactname",
            "primarycontact",
            "associatedcontact",
            "联系人",
        },
        "company": {
            "company",
            "organization",
            "organizationname",
            "accountname",
            "account",
            "associatedcompany",
            "公司",
            "companyname",
        },
        "owner": {"owner", "dealowner", "ownerid", "负责人"},
        "source": {"source", "leadsource", "dealsource"},
        "notes": {"notes", "note", "description"},
        "lost_reason": {"lostreason", "deallostreason", "closedlostreason", "reason"},
        "created_at": {"createdate", "createddate", "created", "createdat", "dealcreated"},
        "external_id": {"recordid", "id", "dealid", "opportunityid", "externalid"},
    },
    "activities": {
        "contact": {"contact", "contactemail", "email", "person", "personname", "who"},
        "company": {"company", "organization", "account"},
        "deal": {"deal", "dealtitle", "dealname", "opportunity"},
        "type": {"type", "activitytype", "kind"},
        "text": {"text", "note", "notes", "subject", "description", "body", "summary"},
        "at": {"at", "date", "time", "datetime", "activitydate", "duedate", "when", "timestamp"},
        "by": {"by", "owner", "user", "assignedto"},
    },
}

_LABEL = re.compile(r"(type|label|optout|optin|bounce|status|consent|subscription|marketing|valid|verified)")
_EMAIL = re.compile(r"(e?mail|邮箱|电子邮件|电邮|correo|courriel)")
_PHONE = re.compile(r"(phone|mobile|mobil|handy|tel|cell|电话|手机|telefon|telefono|movil|portable)")


def _pattern(kind: str, key: str) -> str | None:
    """Fields recognised by shape: numbered, labelled and prefixed email and phone columns."""
    if _LABEL.search(key) and (_EMAIL.search(key) or _PHONE.search(key)):
        return IGNORE  # "E-mail 1 - Type", "Phone 1 - Label": the kind of value, not a value
    if kind == "contacts":
        if _EMAIL.search(key):
            return "emails"
        if _PHONE.search(key) and "fax" not in key:
            return "phones"
    if kind == "companies" and _PHONE.search(key) and "fax" not in key:
        return "phone"
    return None


@dataclass
class Mapping:
    kind: str
    columns: list[str | None]  # per column: a field, "custom.KEY", or None (ignored)
    headers: list[str]
    unknown: list[str]  # headers that became custom fields or were ignored
    own_export: bool = False

    def describe(self) -> list[tuple[str, str]]:
        return [(h, c or "(ignored)") for h, c in zip(self.headers, self.columns, strict=True) if h]


def _own_export(keys: set[str]) -> bool:
    """crm's own export: its `id` is crm's, not a foreign system's record id."""
    return {"externalid", "createdat", "updatedat"} <= keys


def _strip_prefix(key: str) -> str:
    """Pipedrive's 'Person - Email - Work' and 'Organization - Name': drop the entity prefix."""
    for prefix in ("person", "organization", "organisation", "deal", "contact", "company", "lead", "account"):
        if key.startswith(prefix) and len(key) > len(prefix) + 1:
            return key[len(prefix) :]
    return key


def field_for(kind: str, header: str) -> str | None:
    key = header_key(header)
    if not key:
        return None
    exact = _EXACT[kind]
    for candidate in (key, _strip_prefix(key)):
        for name, keys in exact.items():
            if candidate in keys:
                return name
    if key.startswith("custom") and len(key) > 6:
        return None
    return _pattern(kind, key) or _pattern(kind, _strip_prefix(key))


def guess_kind(headers: list[str]) -> str:
    """contacts unless the columns say deals, activities or companies."""
    keys = {header_key(h) for h in headers}
    stripped = keys | {_strip_prefix(k) for k in keys}
    if stripped & {
        "dealname",
        "dealstage",
        "stagename",
        "opportunityname",
        "dealtitle",
        "dealvalue",
        "amount",
        "stage",
    }:
        return "deals"
    if {"type", "activitytype"} & keys and keys & {"text", "note", "subject", "at", "date", "activitydate"}:
        return "activities"
    personal = any(_EMAIL.search(k) for k in keys) or keys & {"firstname", "lastname", "givenname", "familyname"}
    if not personal and keys & {
        "domain",
        "companydomainname",
        "website",
        "companyname",
        "organizationname",
        "accountname",
        "industry",
        "numberofemployees",
    }:
        return "companies"
    return "contacts"


def map_headers(
    headers: list[str], kind: str, overrides: dict[str, str] | None = None, unknown: str = "field"
) -> Mapping:
    """Each column's field. OVERRIDES ("Header" → field, custom.KEY or ignore) win; columns nobody
    recognises become custom fields (unknown="field") or are ignored (unknown="ignore")."""
    from crmcli.fields import RESERVED
    from crmcli.normalize import field_key

    if kind not in KINDS:
        raise UsageError(f"unknown kind '{kind}': use {', '.join(KINDS)}")
    keys = {header_key(h) for h in headers}
    own = _own_export(keys)
    wanted = {header_key(k): v.strip() for k, v in (overrides or {}).items()}
    columns: list[str | None] = []
    unknowns: list[str] = []
    for header in headers:
        key = header_key(header)
        if key in wanted:
            target = wanted[key]
            if target != IGNORE and target not in FIELDS[kind] and not target.startswith("custom."):
                raise Invalid(
                    f"--map {header}={target}: {kind} have no field '{target}' (fields: {', '.join(FIELDS[kind])})"
                )
            columns.append(None if target == IGNORE else target)
            continue
        if not key:
            columns.append(None)
            continue
        if own:
            own_field = _own_field(kind, header)
            if own_field is not False:
                columns.append(own_field)
                continue
        found = field_for(kind, header)
        if found == IGNORE:
            columns.append(None)
        elif found is not None:
            columns.append(found)
        else:
            unknowns.append(header)
            if unknown == "ignore":
                columns.append(None)
            else:
                custom = field_key(header.removeprefix("custom.")) if re.search(r"\w", header) else ""
                columns.append(f"custom.{'x_' + custom if custom in RESERVED else custom}" if custom else None)
    for header in wanted:
        if header not in keys:
            raise Invalid(f"--map names a column the file does not have: {header}")
    return Mapping(kind, columns, list(headers), unknowns, own)


_OWN = {
    "contacts": {
        "id": None,
        "email": "emails",
        "emails": "emails",
        "phone": "phones",
        "phones": "phones",
        "company_id": None,
        "last_touch": None,
        "updated_at": None,
        "created_at": "created_at",
        "external_id": "external_id",
        "cadence_days": "cadence",
    },
    "companies": {
        "id": None,
        "people": None,
        "last_touch": None,
        "updated_at": None,
        "created_at": "created_at",
        "external_id": "external_id",
    },
    "deals": {
        "id": None,
        "contact_id": None,
        "company_id": None,
        "pipeline": "pipeline",
        "probability": None,
        "weighted": None,
        "days_in_stage": None,
        "stalled": None,
        "closed_at": None,
        "updated_at": None,
        "external_id": "external_id",
        "created_at": "created_at",
        "contact": "contact",
    },
    "activities": {"id": None, "contact_id": None, "company_id": None, "deal_id": None, "subject": None},
}


def _own_field(kind: str, header: str) -> str | None | bool:
    """The field of a column of crm's own export; False when the header is not one of its own."""
    if header.startswith("custom."):
        return header
    return _OWN.get(kind, {}).get(header, False)  # type: ignore[return-value]
