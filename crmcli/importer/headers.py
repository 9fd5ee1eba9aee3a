"""Columns map themselves: the headers of HubSpot, Salesforce, Pipedrive, Zoho, Google, Outlook,
Thunderbird and crm's own exports, and of hand-made sheets, are recognised without a mapping.

- Languages: English, German, French, Spanish, Italian, Portuguese (pt-BR and pt-PT), Dutch,
  Polish, Chinese, Japanese, Korean and Vietnamese, for names, emails, phones, company, job title,
  notes, tags, address parts, birthday, website, industry, owner, source and creation date
  (Outlook's own localised export headers among them). Case, accents, spacing and punctuation do
  not matter: header_key folds them ("E-Mail 2: Adresse" and "e mail 2 adresse" are one key).
- Shapes: numbered and labelled variants (E-mail 3 Address, Phone 1 - Value, Business Phone 2,
  Home Street 2); a label column ("E-mail 1 - Type", "E-Mail: Angezeigter Name") is ignored.
  `name` next to a last name and no first name is the first name (Nome + Cognome, Nombre +
  Apellidos); "Name"/"Nom"/"Naam" next to a first name and no last name is the last name
  (Vorname + Name, Prénom + Nom). A bare "Title"/"Titel"/"Titolo"/"Tytuł" next to a job title
  column is the name prefix (Outlook's "Title" is Mr./Dr.).
- Addresses: a file may hold several (Outlook: Business, Home, Other; Thunderbird: Work, Home;
  Salesforce: Mailing/Other, Billing/Shipping; Google: Address 1, Address 2). One of them, the
  first present of: unlabelled, Mailing, Business/Work, Billing, Home, numbered 1, 2, …, Other,
  Shipping, becomes street/city/region/postcode/country (its street lines 2 and 3 join street);
  the columns of the others, and PO boxes, become custom fields named after their headers
  (Outlook: home_street, home_city, …, other_country_region, business_address_po_box).
- References: only the record's own id column (ID, Record ID, Person - ID, Deal ID in a deals
  file) is its external_id. A column naming another record's id (Salesforce ACCOUNTID, CONTACTID,
  WHOID, WHATID; HubSpot Associated Company ID; Pipedrive Organization ID, Deal - Person ID; Zoho
  Account_Name.id; crm's company_id) is company_ref, contact_ref or deal_ref, or a custom field
  where the kind has no such link.
- crm's own export: `id` is source_id, company_id/contact_id/deal_id are refs, derived columns
  (last_touch, weighted, days_in_stage, …) are ignored, and `custom.KEY:TYPE` or
  `custom.KEY:choice(A|B)` carries a custom field's declared type (Mapping.types).
- Nothing here aborts on a header: a column nobody recognises becomes a custom field whose key is
  made valid (accents kept, punctuation → "_", a built-in name prefixed "x_", duplicates numbered).

No SQLAlchemy here: the importer's worker process imports this module.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crmcli.errors import Hint, Invalid, UsageError, literal

if TYPE_CHECKING:
    from crmcli.domain.lookup import Note

KINDS = ("contacts", "companies", "deals", "activities", "followups")
_ADDRESS = ("street", "city", "region", "postcode", "country", "address")
FIELDS = {
    "contacts": (
        "name",
        "first_name",
        "middle_name",
        "last_name",
        "prefix",
        "suffix",
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
        "custom_pairs",
        *_ADDRESS,
        "birthday",
        "website",
        "source_id",
        "company_ref",
        "kind",
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
        "source_id",
        *_ADDRESS,
        "industry",
    ),
    "deals": (
        "title",
        "amount",
        "currency",
        "stage",
        "pipeline",
        "status",
        "close_date",
        "closed_at",
        "contact",
        "company",
        "owner",
        "source",
        "notes",
        "lost_reason",
        "created_at",
        "external_id",
        "source_id",
        "contact_ref",
        "company_ref",
        "is_won",
        "is_closed",
        "probability",
    ),
    "activities": (
        "contact",
        "company",
        "deal",
        "type",
        "text",
        "at",
        "by",
        "source_id",
        "contact_ref",
        "company_ref",
        "deal_ref",
    ),
    "followups": (
        "kind",
        "subject_kind",
        "subject",
        "contact_ref",
        "company_ref",
        "deal_ref",
        "due_at",
        "note",
        "owner",
        "every",
        "from_done",
        "origin",
        "uid",
        "done_at",
        "created_at",
        "source_id",
    ),
}
IGNORE = "ignore"
# What a record of each kind cannot do without (explain_unmapped), and the fields a mapping example offers.
NEEDS = {
    "contacts": ("a name, an email or a phone", ("name", "phones")),
    "companies": ("a name", ("name", "domain")),
    "deals": ("a title", ("title", "amount")),
    "activities": ("a contact, company or deal, and a text", ("contact", "text")),
    "followups": ("a subject and a due time", ("subject", "due_at")),
}


def header_key(text: str) -> str:
    """'E-mail 1 - Value' → 'email1value'; accents and case folded, CJK kept."""
    folded = unicodedata.normalize("NFKD", str(text).replace("\ufeff", ""))
    folded = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    return re.sub(r"[\W_]+", "", folded)


# ---------------------------------------------------------------- words
# Headers as they are written (keyed by header_key below). Where a word means different things in
# different languages the commoner meaning wins and the shape rules in map_headers fix the rest.

_NAME = (
    "name", "full name", "display name", "contact name", "contact", "person name", "fn",
    "姓名", "名字", "联系人", "显示名称", "nombre", "nombre completo", "nom complet", "nom", "nom et prénom",
    "vollständiger name", "kontakt", "kontaktname", "nome", "nome completo", "nominativo", "naam", "volledige naam",
    "weergavenaam", "imię i nazwisko", "nazwa wyświetlana", "氏名", "名前", "フルネーム", "表示名", "이름", "성명",
    "전체 이름", "표시 이름", "họ và tên", "họ tên", "tên", "tên đầy đủ", "tên khách hàng", "tên liên hệ",
)  # fmt: skip
_FIRST = (
    "first name", "given name", "first", "forename", "vorname", "prénom", "nombre de pila", "primeiro nome",
    "voornaam", "imię", "名", "이름(영문)", "tên riêng",
)  # fmt: skip
_MIDDLE = (
    "middle name", "additional name", "second name", "middle", "weitere vornamen", "zweiter vorname",
    "deuxième prénom", "segundo nombre", "secondo nome", "segundo nome", "nome do meio", "outros nomes/apelidos",
    "middelste naam", "tussenvoegsel", "drugie imię", "ミドル ネーム", "ミドルネーム", "중간 이름", "中间名", "tên đệm",
)  # fmt: skip
_LAST = (
    "last name", "surname", "family name", "last", "nachname", "familienname", "nom de famille", "apellido",
    "apellidos", "primer apellido", "segundo apellido", "cognome", "sobrenome", "apelido", "último nome",
    "achternaam", "nazwisko", "姓", "성", "姓氏", "họ",
)  # fmt: skip
_PREFIX = (
    "prefix", "name prefix", "salutation", "honorific", "anrede", "civilité", "tratamento", "trattamento",
    "aanhef", "zwrot grzecznościowy", "肩書き", "호칭(영문)", "英文称谓", "danh xưng",
)  # fmt: skip
_SUFFIX = (
    "suffix", "name suffix", "namenszusatz", "suffixe", "sufijo", "sufixo", "suffisso", "titolo straniero",
    "achtervoegsel", "sufiks", "敬称", "호칭(한글)", "中文称谓",
)  # fmt: skip
_JOB = (
    "title", "job title", "position", "role", "job", "organization title", "organization 1 - title",
    "职位", "职务", "titel", "funktion", "cargo", "puesto", "poste", "fonction", "titre", "intitulé du poste",
    "titolo", "qualifica", "ruolo", "posizione", "mansione", "título", "função", "functie", "stanowisko", "tytuł",
    "役職", "職位", "직함", "직책", "직위", "chức vụ", "chức danh",
)  # fmt: skip
# A bare title word is the name prefix when the file also has a job-title column (Outlook's "Title").
_TITLE_WORDS = ("title", "titel", "titolo", "título", "tytuł", "titre")
_COMPANY = (
    "company", "company name", "organization", "organisation", "organization name", "organization 1 - name",
    "account name", "account", "firma", "firmenname", "unternehmen", "公司", "单位", "公司名称", "empresa",
    "nombre de la empresa", "compañía", "organización", "société", "entreprise", "raison sociale", "azienda",
    "società", "ragione sociale", "nome azienda", "nome da empresa", "razão social", "organização", "bedrijf",
    "bedrijfsnaam", "organisatie", "nazwa firmy", "会社名", "会社", "회사", "회사명", "công ty", "tên công ty",
    "associated company", "person - organization", "organisation name", "đơn vị",
)  # fmt: skip
_TAGS = (
    "tags", "tag", "labels", "label", "categories", "category", "group membership", "groups", "标签", "schlagworte",
    "kategorien", "etiquetas", "categorías", "étiquettes", "catégories", "etichette", "categorie", "categorias",
    "categorieën", "tagi", "etykiety", "kategorie", "タグ", "分類", "ラベル", "태그", "범주", "범주 항목", "라벨",
    "thẻ", "nhãn", "nhóm", "类别",
)  # fmt: skip
_OWNER = (
    "owner", "contact owner", "owner id", "owner name", "person owner", "负责人", "besitzer", "inhaber",
    "verantwortlich", "propietario", "responsable", "propriétaire", "proprietario", "responsabile", "proprietário",
    "responsável", "agente", "eigenaar", "właściciel", "opiekun", "担当者", "所有者", "담당자", "소유자",
    "người phụ trách",
)  # fmt: skip
_SOURCE = (
    "source", "lead source", "original source", "来源", "quelle", "herkunft", "origen", "fuente", "origine",
    "fonte", "origem", "bron", "źródło", "ソース", "リードソース", "출처", "소스", "nguồn", "nguồn giới thiệu",
)  # fmt: skip
_NOTES = (
    "notes", "note", "description", "comments", "comment", "remarks", "备注", "notizen", "notiz", "bemerkung",
    "bemerkungen", "notas", "observaciones", "comentarios", "commentaires", "remarques", "note e commenti",
    "osservazioni", "observações", "anotações", "notities", "opmerkingen", "notatki", "uwagi", "メモ", "備考",
    "메모", "비고", "ghi chú", "附注",
)  # fmt: skip
_CREATED = (
    "create date", "created date", "created", "created at", "date added", "creation date", "创建时间", "erstellt",
    "erstellt am", "erstellungsdatum", "person - add time", "add time", "fecha de creación", "date de création",
    "data di creazione", "data creazione", "data de criação", "aangemaakt", "aanmaakdatum", "data utworzenia",
    "作成日", "登録日", "생성일", "등록일", "ngày tạo", "created time",
)  # fmt: skip
_BIRTHDAY = (
    "birthday", "birthdate", "birth date", "date of birth", "dob", "geburtstag", "geburtsdatum", "anniversaire",
    "date de naissance", "cumpleaños", "fecha de nacimiento", "compleanno", "data di nascita", "data de nascimento",
    "aniversário", "verjaardag", "geboortedatum", "urodziny", "data urodzenia", "誕生日", "生年月日", "생일",
    "생년월일", "ngày sinh", "sinh nhật", "生日",
)  # fmt: skip
_WEBSITE = (
    "website", "website url", "web site", "url", "web", "web page", "webpage", "homepage", "home page",
    "personal web page", "business website", "网站", "网页", "webseite", "internetseite", "sitio web",
    "página web", "site web", "site internet", "page web", "sito web", "sito internet", "pagina web", "site",
    "página da web", "página na web", "webpagina", "strona internetowa", "strona www", "strona sieci web",
    "web ページ", "ウェブサイト", "ホームページ", "웹 페이지", "웹사이트", "홈페이지", "trang web",
)  # fmt: skip
_INDUSTRY = (
    "industry", "sector", "branche", "secteur", "secteur d'activité", "industrie", "industria", "settore",
    "segmento", "setor", "ramo de atividade", "bedrijfstak", "branża", "業種", "업종", "산업", "ngành nghề",
    "lĩnh vực", "行业",
)  # fmt: skip
_STREET = (
    "street", "street address", "address line 1", "address line 2", "address line 3", "address 1", "address 2",
    "straße", "strasse", "hausnummer", "rue", "adresse ligne 1", "calle", "dirección línea 1", "via",
    "rua", "logradouro", "straat", "ulica", "番地", "번지", "주소 번지", "도로명", "街道", "đường",
)  # fmt: skip
_CITY = (
    "city", "town", "locality", "ort", "stadt", "wohnort", "ville", "ciudad", "localidad", "población",
    "municipio", "città", "comune", "località", "cidade", "município", "localidade", "plaats", "woonplaats",
    "stad", "miasto", "miejscowość", "市区町村", "市町村", "도시", "시/구/군", "구/군/시", "城市", "市/县",
    "thành phố",
)  # fmt: skip
_REGION = (
    "state", "region", "province", "county", "state/province", "bundesland", "kanton", "bundesland/kanton",
    "state/region", "région", "département", "dép/région", "provincia", "provincia o estado",
    "estado", "región", "comunidad autónoma", "regione", "uf", "distrito",
    "provincie", "województwo", "都道府県", "시/도", "省", "省/市/自治区", "tỉnh", "tỉnh/thành phố", "tỉnh/thành",
)  # fmt: skip
_POSTCODE = (
    "postcode", "postal code", "post code", "zip", "zip code", "zipcode", "postleitzahl", "plz", "code postal",
    "cp", "código postal", "cap", "cep", "kod pocztowy", "郵便番号", "우편번호", "우편 번호", "邮政编码", "邮编",
    "mã bưu chính", "mã bưu điện",
)  # fmt: skip
_COUNTRY = (
    "country", "country/region", "country region", "land", "land/region", "land/regio", "pays", "pays/région",
    "país", "país/región", "país o región", "paese", "nazione", "país/região", "kraj", "kraj/region", "国", "国/地域",
    "국가",
    "국가/지역", "国家", "国家/地区", "quốc gia",
)  # fmt: skip
_ADDRESS_WHOLE = (
    "address", "full address", "postal address", "mailing address", "formatted address", "adresse", "anschrift",
    "dirección", "direccion postal", "indirizzo", "indirizzo completo", "endereço", "endereço completo", "adres",
    "住所", "주소", "地址", "địa chỉ",
)  # fmt: skip


def _folded(pattern: str) -> re.Pattern[str]:
    """PATTERN compiled to match header keys: Hangul and kana decomposed as header_key leaves them."""
    folded = unicodedata.normalize("NFKD", pattern)
    return re.compile("".join(c for c in folded if not unicodedata.combining(c)))


# Pieces of the patterns below: an email or phone column in any of the languages above.
_EMAIL = _folded(
    r"(e?mail|邮箱|电子邮件|电邮|correo|courriel|(?<!radio)messagerie|postaelettronica|correioele|epost|epasta|pasto|"
    r"メール|메일|thuđientu|thudientu)"
)
_PHONE = _folded(
    r"(phone|mobil|mobiel|gsm|handy|tel(?!ex)|cell|电话|手机|movil|portable|celular|telemovel|komork|電話|携帯|전화|휴대폰|"
    r"đienthoai|diđong|didong|sđt|radiofon|fon$)"
)
# A column that describes an email or phone instead of holding one: "E-mail 1 - Type", "E-Mail: Angezeigter Name".
_LABEL = _folded(
    r"(type|typ$|^typ|tipo|soort|rodzaj|種類|유형|类型|label|optout|optedout|optin|bounce|status|consent|subscription|marketing|"
    r"valid|verified|displayname|angezeigtername|anzeigename|nomcomplet|pantalla|visualizzato|exibicao|apresentar|"
    r"weergave|weergegeven|wyswietlana|表示名|표시이름|显示名)"
)
_NOT_PHONE = _folded(
    r"(fax|telex|telecopie|pager|callback|assistant|assistent|asystent|isdn|faks|팩스|传真|秘書|비서|助理)"
)

# Address groups: which of a file's several addresses a column belongs to.
_GROUPS = {
    "mailing": ("mailing", "postal", "correspondence"),
    "business": (
        "business", "work", "office", "company", "geschäftlich", "geschaftlich", "firma", "bureau", "professionnel",
        "professionnelle",
        "trabajo", "del trabajo", "de trabajo", "uff", "ufficio", "comercial", "do endereço comercial", "da empresa",
        "werk", "werkadres", "służbowy", "służbowa", "adres służbowy", "会社", "근무지", "근무처", "商务地址", "商务",
        "arb", "adresse arb", "đơn vị",
    ),
    "billing": ("billing", "invoice", "rechnung", "facturation", "facturación"),
    "home": (
        "home", "private", "personal", "privat", "domicile", "domicilio", "casa", "ab", "abitazione", "residencial",
        "do endereço residencial", "da residência", "residência", "thuis", "huisadres", "domowy", "adres domowy",
        "自宅", "집", "집 주소", "住宅地址", "住宅", "priv", "adresse priv", "nhà riêng",
    ),
    "other": (
        "other", "weitere", "weiterer", "weiteres", "weiteres/e", "weiteres/r", "autre", "otro", "otra", "altro",
        "altra", "outro", "do outro endereço", "ander", "ander adres", "andere", "anders", "inny", "inny adres", "inna",
        "その他", "기타", "其他", "其他地址", "annen adresse",
    ),
    "shipping": ("shipping", "delivery", "lieferung", "livraison", "envío"),
}  # fmt: skip
_GROUP_ORDER = ("mailing", "business", "", "billing", "home", "1", "2", "3", "4", "5", "other", "shipping")
_PARTS = {
    "street": _STREET + ("address", "adresse", "anschrift", "dirección", "endereço", "adres", "住所", "주소", "地址"),
    "city": _CITY,
    "region": _REGION,
    "postcode": _POSTCODE,
    "country": _COUNTRY,
    "pobox": (
        "po box", "address po box", "pobox", "postfach", "b.p.", "boîte postale", "apartado", "apartado postal",
        "casella postale", "caixa postal", "postbus", "postbusnummer", "skrzynka pocztowa", "私書箱", "사서함", "邮箱",
    ),
    "extended": ("extended address", "street 2", "street 3", "address 2", "address line 2"),
    "formatted": ("formatted", "formatted address", "full address"),
}  # fmt: skip
_CONNECTORS = ("de", "del", "do", "da", "du", "des", "di", "van", "der", "het")

# A customer's number in the system the file comes from: the record's own id.
_CUSTOMER_NUMBER = ("customer id", "customer number", "customer no", "client id", "kundennummer", "kunden-nr",
                    "numéro client", "code client", "código cliente", "código do cliente", "número de cliente",
                    "codice cliente", "klantnummer", "numer klienta", "顧客番号", "고객번호",
                    "mã khách hàng")  # fmt: skip
# Tax numbers only a business has: with no person's name column the file lists companies.
_COMPANY_IDS = {"partitaiva", "piva", "vat", "vatnumber", "vatid", "ustidnr", "ustid", "cnpj", "siret", "siren",
                "kvknummer", "kvk", "btwnummer", "regon", "masothue", "法人番号", "사업자등록번호"}  # fmt: skip
_STAGE = ("stage", "deal stage", "stage name", "阶段", "phase", "etapa", "étape", "fase", "stadium", "etap", "ステージ",
          "フェーズ", "단계", "giai đoạn")  # fmt: skip
_AMOUNT = ("amount", "value", "deal value", "deal amount", "金额", "betrag", "wert", "importe", "monto", "montant",
           "valeur", "importo", "valore", "valor", "bedrag", "waarde", "kwota", "wartość", "金額", "금액", "giá trị",
           "số tiền")  # fmt: skip
_CLOSE = ("close date", "expected close date", "closing date", "deal closing date", "deal expected close date",
          "closedatum", "abschlussdatum", "预计成交日期", "fecha de cierre", "date de clôture", "data di chiusura",
          "data de fechamento", "data de fecho", "sluitingsdatum", "data zamknięcia", "完了予定日", "마감일",
          "ngày chốt")  # fmt: skip
_DEAL_TITLE = ("title", "deal name", "deal title", "opportunity name", "name", "deal", "opportunity", "商机",
               "商机名称", "oportunidad", "nombre de la oportunidad", "opportunité", "affaire", "opportunità",
               "trattativa", "oportunidade", "negócio", "kans", "verkoopkans", "szansa", "szansa sprzedaży",
               "商談", "案件", "거래", "영업 기회", "cơ hội")  # fmt: skip

_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "contacts": {
        "name": _NAME,
        "first_name": _FIRST,
        "middle_name": _MIDDLE,
        "last_name": _LAST,
        "prefix": _PREFIX,
        "suffix": _SUFFIX,
        "title": _JOB,
        "company": _COMPANY,
        "tags": _TAGS,
        "owner": _OWNER,
        "source": _SOURCE,
        "notes": _NOTES,
        "created_at": _CREATED,
        "external_id": ("external id", "uid", *_CUSTOMER_NUMBER),
        "cadence": ("cadence", "cadence days", "keep in touch"),
        "custom_pairs": ("custom pairs",),  # key=value lines, as crm's own vCards carry custom fields
        "birthday": _BIRTHDAY,
        "website": _WEBSITE,
        "address": _ADDRESS_WHOLE,
        "kind": ("kind", "record kind"),
    },
    "companies": {
        "name": (
            "name",
            "company",
            "company name",
            "organization",
            "organisation",
            "organization name",
            "account name",
            "account",
            "firma",
            "firmenname",
            "unternehmen",
            "公司",
            "公司名称",
            "empresa",
            "nombre de la empresa",
            "société",
            "entreprise",
            "raison sociale",
            "azienda",
            "società",
            "ragione sociale",
            "nome azienda",
            "nome da empresa",
            "razão social",
            "bedrijf",
            "bedrijfsnaam",
            "organisatie",
            "naam",
            "nom",
            "nombre",
            "nome",
            "nazwa",
            "nazwa firmy",
            "会社名",
            "会社",
            "회사",
            "회사명",
            "công ty",
            "tên công ty",
            "organization - name",
        ),
        "domain": (
            "domain",
            "company domain name",
            "domain name",
            "域名",
            "domäne",
            "dominio",
            "domaine",
            "domein",
            "domena",
            "ドメイン",
            "도메인",
            "tên miền",
        ),
        "website": _WEBSITE,
        "phone": (
            "phone",
            "phone number",
            "company phone",
            "telephone",
            "telefon",
            "电话",
            "telefono",
            "teléfono",
            "téléphone",
            "telefone",
            "telefoon",
            "電話番号",
            "전화",
            "전화번호",
            "điện thoại",
        ),
        "tags": _TAGS,
        "owner": _OWNER + ("company owner", "organization owner"),
        "source": _SOURCE,
        "notes": _NOTES,
        "created_at": _CREATED,
        "external_id": ("external id", *_CUSTOMER_NUMBER),
        "industry": _INDUSTRY,
        "address": _ADDRESS_WHOLE,
    },
    "deals": {
        "title": _DEAL_TITLE,
        "amount": _AMOUNT,
        "currency": (
            "currency",
            "deal currency",
            "currency iso code",
            "币种",
            "währung",
            "moneda",
            "devise",
            "valuta",
            "moeda",
            "waluta",
            "通貨",
            "통화",
            "tiền tệ",
        ),
        "stage": _STAGE,
        "pipeline": ("pipeline", "deal pipeline", "sales pipeline", "pipeline name"),
        "status": ("status", "deal status", "estado", "statut", "stato", "situação", "状態", "상태", "trạng thái"),
        "close_date": _CLOSE,
        "closed_at": (
            "closed at",
            "closed date",
            "date closed",
            "closed on",
            "won time",
            "lost time",
            "deal - won time",
            "deal - lost time",
        ),
        "contact": (
            "contact",
            "contact email",
            "email",
            "person name",
            "person",
            "contact name",
            "primary contact",
            "associated contact",
            "联系人",
            "contacto",
            "contatto",
            "contato",
        ),
        "company": (
            "company",
            "organization",
            "organization name",
            "account name",
            "account",
            "associated company",
            "公司",
            "company name",
            "empresa",
            "société",
            "azienda",
            "firma",
            "bedrijf",
        ),
        "owner": _OWNER + ("deal owner",),
        "source": _SOURCE + ("deal source",),
        "notes": _NOTES,
        "lost_reason": ("lost reason", "deal lost reason", "closed lost reason", "reason", "loss reason"),
        "created_at": _CREATED + ("deal created",),
        "external_id": ("external id",),
        "is_won": ("is won", "won"),
        "is_closed": ("is closed", "closed"),
        "probability": (
            "probability",
            "probability (%)",
            "deal probability",
            "wahrscheinlichkeit",
            "probabilidad",
            "probabilité",
            "probabilità",
            "probabilidade",
            "prawdopodobieństwo",
            "確度",
            "확률",
        ),
    },
    "activities": {
        "contact": ("contact", "contact email", "email", "person", "person name", "who"),
        "company": ("company", "organization", "account"),
        "deal": ("deal", "deal title", "deal name", "opportunity"),
        "type": ("type", "activity type", "task subtype"),
        "text": ("text", "note", "notes", "subject", "description", "body", "summary"),
        "at": ("at", "date", "time", "datetime", "activity date", "due date", "when", "timestamp"),
        "by": ("by", "owner", "user", "assigned to", "owner id"),
    },
    "followups": {
        "kind": ("kind",),
        "subject_kind": ("subject kind",),
        "subject": ("subject", "contact", "regarding"),
        "due_at": (
            "due at",
            "due",
            "due date",
            "due time",
            "fällig",
            "fällig am",
            "vencimiento",
            "échéance",
            "scadenza",
            "vencimento",
            "vervaldatum",
            "termin",
        ),
        "note": ("note", "notes", "text", "description", "task"),
        "owner": _OWNER,
        "every": ("every", "repeat", "recurrence"),
        "from_done": ("from done",),
        "origin": ("origin",),
        "uid": ("uid", "ical uid"),
        "done_at": ("done at", "completed at", "completed", "done"),
        "created_at": _CREATED,
    },
}
# Salesforce system columns: who last touched the record and when; nothing a CRM user keeps.
_SYSTEM = {"isdeleted", "createdbyid", "lastmodifiedbyid", "lastmodifieddate", "systemmodstamp", "lastvieweddate",
           "lastreferenceddate", "updatedat", "modifiedtime", "updatetime"}  # fmt: skip


def _keyed(words: dict[str, tuple[str, ...]]) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """{key: field} for WORDS, and the (key, field, other field) pairs that two fields both claim
    (the first field keeps the key)."""
    keyed: dict[str, str] = {}
    clashes = []
    for name, headers in words.items():
        for header in headers:
            key = header_key(header)
            if keyed.setdefault(key, name) != name:
                clashes.append((key, keyed[key], name))
    return keyed, clashes


_EXACT = {kind: _keyed(words)[0] for kind, words in _WORDS.items()}
_GROUP_KEYS = sorted(((header_key(w), g) for g, ws in _GROUPS.items() for w in ws), key=lambda p: -len(p[0]))
_PART_KEYS = {header_key(w): part for part, ws in _PARTS.items() for w in ws}
_CONNECTOR_KEYS = tuple(header_key(c) for c in _CONNECTORS)
_TITLE_KEYS = {header_key(w) for w in _TITLE_WORDS}
_SURNAME_AMBIGUOUS = {"name", "nom", "naam"}  # German/French/Dutch "Name" beside a first name is the last name
_NAME_FIRST_AMBIGUOUS = {header_key(w) for w in ("nome", "nombre", "이름", "tên", "name", "nom", "naam")}

# Entity words: a column "<entity> id" is the record's own id or a reference to another record.
_ENTITY = {
    "contact": ("contact", "person", "who", "lead", "primarycontact", "associatedcontact", "contactname",
                "convertedcontact", "people"),
    "company": ("company", "account", "organization", "organisation", "org", "associatedcompany",
                "primaryassociatedcompany", "accountname", "companyname", "convertedaccount", "associatedcompanies"),
    "deal": ("deal", "opportunity", "what", "associateddeal", "dealname", "convertedopportunity", "potential"),
    "activity": ("activity", "task", "event", "call", "meeting"),
    "followup": ("followup", "task", "reminder"),
}  # fmt: skip
_OWN_ENTITY = {"contacts": "contact", "companies": "company", "deals": "deal", "activities": "activity",
               "followups": "followup"}  # fmt: skip
_REF = {"contact": "contact_ref", "company": "company_ref", "deal": "deal_ref"}
# The words of a kind's own id column ("Contact ID" in a contacts file, "Opportunity ID" in a deals file).
_OWN_STEMS = {"contacts": ("contact", "person", "lead"), "companies": ("company", "account", "organization",
              "organisation", "org"), "deals": ("deal", "opportunity"), "activities": ("activity", "task", "event"),
              "followups": ("followup", "reminder")}  # fmt: skip
# A linked record's name in another entity's columns: Pipedrive "Person - Name" in a deals file.
_LINK_NAMES = {"contact": ("name", "email", "fullname"), "company": ("name",), "deal": ("title", "name")}
# Pipedrive's "Person - Email", "Organization - Name", "Deal - Person ID": the entity each prefix names.
_PREFIXES = {"person": "contact", "contact": "contact", "lead": "contact", "organization": "company",
             "organisation": "company", "company": "company", "account": "company", "deal": "deal",
             "opportunity": "deal", "activity": "activity"}  # fmt: skip


@dataclass
class Mapping:
    kind: str
    columns: list[str | None]  # per column: a field, "custom.KEY", or None (ignored)
    headers: list[str]
    unknown: list[str]  # headers that became custom fields or were ignored
    own_export: bool = False
    # custom.KEY:TYPE headers of crm's own export: KEY → (type, choices), for declaring the field
    types: dict[str, tuple[str, list[str]]] = field(default_factory=dict)

    def describe(self) -> list[tuple[str, str]]:
        return [(h, c or "(ignored)") for h, c in zip(self.headers, self.columns, strict=True) if h]


# ---------------------------------------------------------------- one header


def _split_prefix(key: str) -> tuple[str | None, str]:
    """('person', 'organizationid') for 'Person - Organization ID'; (None, key) without an entity prefix."""
    for prefix in _PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix) + 1:
            return prefix, key[len(prefix) :]
    return None, key


# Outlook headers whose group word sits inside the part's words.
_ADDRESS_ODD = {header_key(h): v for h, v in {
    "País da Residência/Região": ("home", "country"), "国 (会社)/地域": ("business", "country"),
    "国 (自宅)/地域": ("home", "country"), "国 (その他)/地域": ("other", "country"),
}.items()}  # fmt: skip


def _address_part(key: str) -> tuple[str, str] | None:
    """(group, part) of an address column: 'businessstreet2' → ('business', 'extended'),
    'ortgeschaftlich' → ('business', 'city'), 'address1city' → ('1', 'city'), 'mailingcity' → ('mailing', 'city')."""
    if key in _ADDRESS_ODD:
        return _ADDRESS_ODD[key]
    numbered = re.fullmatch(r"address(\d)(.+)", key)  # Google: "Address 1 - City"
    if numbered:
        part = _PART_KEYS.get(numbered.group(2))
        if part is None and numbered.group(2) in ("type", "label"):
            return numbered.group(1), "label"
        return (numbered.group(1), part) if part else None
    line = re.search(r"\d+", key)
    bare = re.sub(r"\d+", "", key)
    if line and line.group() not in ("1", "2", "3") or not bare:
        return None
    part = _PART_KEYS.get(bare)
    if part and not line and part not in ("pobox", "extended", "formatted"):
        return "", part
    for marker, group in _GROUP_KEYS:
        for rest in (
            bare[len(marker) :] if bare.startswith(marker) else None,
            bare[: -len(marker)] if bare.endswith(marker) else None,
        ):
            if not rest:
                continue
            for connector in _CONNECTOR_KEYS:  # "Rua da empresa", "Calle del trabajo"
                if rest.endswith(connector) and rest[: -len(connector)] in _PART_KEYS:
                    rest = rest[: -len(connector)]
                    break
            found = _PART_KEYS.get(rest)
            if found:
                if line and found == "street" and line.group() != "1":
                    found = "extended"
                return group, found
    if part and line:
        return "", "extended" if part == "street" and line.group() != "1" else part
    return None


def _id_field(kind: str, key: str) -> str | None:
    """The field of an id column: the record's own id, a reference to another record, or None."""
    prefix, rest = _split_prefix(key)
    if rest.endswith("ids"):
        rest = rest[:-1]  # HubSpot "Associated Company IDs": the first is the link
    if not rest.endswith("id"):
        return None
    stem, own = rest[:-2], _OWN_ENTITY[kind]
    entity: str | None
    if prefix and stem in ("", "record"):
        entity = _PREFIXES[prefix]  # "Person - ID", "Organization - ID"
    elif stem in ("", "record", "external") or stem in _OWN_STEMS[kind] and (not prefix or _PREFIXES[prefix] == own):
        entity = own
    else:  # "Deal - Person ID"; Zoho's "Account_Name.id", whose "account" is no Pipedrive prefix
        entity = next((e for e, stems in _ENTITY.items() if e != own and stem in stems), None)
        if entity is None and prefix and key.endswith("id"):
            whole = key[:-2]
            entity = next((e for e, stems in _ENTITY.items() if e != own and whole in stems), None)
    if entity == own:
        return "external_id" if "external_id" in FIELDS[kind] else "source_id"
    ref = _REF.get(entity or "")
    return ref if ref in FIELDS[kind] else None


def _pattern(kind: str, key: str) -> str | None:
    """Fields recognised by shape: numbered, labelled and prefixed email and phone columns."""
    email = _EMAIL.search(key)
    phone = _PHONE.search(key)
    if (email or phone) and _LABEL.search(key):
        return IGNORE  # "E-mail 1 - Type", "Phone 1 - Label": the kind of value, not a value
    if kind == "contacts":
        if email:
            return "emails"
        if phone and not _NOT_PHONE.search(key):
            return "phones"
    if kind == "companies" and phone and not _NOT_PHONE.search(key):
        return "phone"
    return None


def field_for(kind: str, header: str) -> str | None:
    """The field HEADER holds in a file of KIND, IGNORE, or None when nothing recognises it.
    An address column gets its part's field whichever address it belongs to (map_headers keeps one)."""
    key = header_key(header)
    if not key or header.startswith("custom."):
        return None
    exact = _EXACT[kind]
    if key in exact:
        return exact[key]
    if key in _SYSTEM:
        return IGNORE
    found = _id_field(kind, key)
    if found:
        return found
    prefix, rest = _split_prefix(key)
    if prefix and rest in _SYSTEM:
        return IGNORE
    entity = _PREFIXES[prefix] if prefix else None
    if entity == _OWN_ENTITY[kind] and rest in exact:
        return exact[rest]  # Pipedrive "Person - Name" in a people file
    if entity and entity != _OWN_ENTITY[kind] and rest in _LINK_NAMES.get(entity, ()):
        link = {"contact": "contact", "company": "company", "deal": "deal"}[entity]
        if link in FIELDS[kind]:
            return link  # "Organization - Name" in a people file, "Person - Name" in a deals file
    numbered = re.sub(r"\d+", "", key)
    if numbered != key and numbered in exact:
        return exact[numbered]  # "Web Page 2", "Organization 2 - Name"
    if kind in ("contacts", "companies"):
        address = _address_part(rest if prefix else key)
        if address:
            group, part = address
            if part == "label":
                return IGNORE
            if part == "pobox":
                return None
            return "street" if part == "extended" else "address" if part == "formatted" else part
    if key.startswith("custom") and len(key) > 6:
        return None
    return _pattern(kind, key) or (_pattern(kind, rest) if prefix and _PREFIXES[prefix] == _OWN_ENTITY[kind] else None)


# ---------------------------------------------------------------- a whole file


def guess_kind(headers: list[str]) -> str:
    """contacts unless the columns say follow-ups, deals, activities or companies."""
    keys = {header_key(h) for h in headers}
    stripped = keys | {_split_prefix(k)[1] for k in keys}
    if {"dueat", "subjectkind"} <= keys or {"dueat", "fromdone"} <= keys:
        return "followups"
    if stripped & {"dealname", "dealstage", "stagename", "opportunityname", "dealtitle", "dealvalue", "amount",
                   "stage", "iswon", "forecastcategory"}:  # fmt: skip
        return "deals"
    typed = {"type", "activitytype", "tasksubtype"} & keys
    if typed and keys & {"text", "note", "subject", "at", "date", "activitydate"} or {"whoid", "whatid"} & keys:
        return "activities"
    personal = any(_EMAIL.search(k) and not k.startswith("mailing") for k in keys) or keys & {
        "firstname",
        "lastname",
        "givenname",
        "familyname",
        "vorname",
        "nachname",
        "prenom",
        "cognome",
    }
    company_words = {header_key(w) for w in ("company name", "organization name", "account name", "raison sociale",
                                             "ragione sociale", "razão social", "firmenname", "bedrijfsnaam",
                                             "nazwa firmy", "会社名", "회사명", "tên công ty")}  # fmt: skip
    if not personal and keys & (
        company_words
        | {"domain", "companydomainname", "website", "industry", "numberofemployees", "annualrevenue",
           "billingstreet", "billingcity", "accountnumber", "tickersymbol", "sic"}
        | {header_key(w) for w in _INDUSTRY}
    ):  # fmt: skip
        return "companies"
    names = {header_key(w) for w in _FIRST + _LAST + ("contact name", "full name", "họ và tên", "họ tên")}
    if keys & _COMPANY_IDS and not keys & names:
        return "companies"
    return "contacts"


_OWN_MARKERS = {
    "contacts": {"id", "externalid", "createdat", "updatedat"},
    "companies": {"id", "externalid", "createdat", "updatedat"},
    "deals": {"id", "externalid", "createdat", "updatedat"},
    "activities": {"id", "at", "type", "text", "by", "contactid"},
    "followups": {"id", "subjectkind", "dueat", "fromdone"},
}
# crm's own export: its columns that are not what field_for would make of them; None: derived, ignored.
_OWN = {
    "contacts": {
        "id": "source_id",
        "email": "emails",
        "emails": "emails",
        "phone": "phones",
        "phones": "phones",
        "company_id": "company_ref",
        "last_touch": None,
        "updated_at": None,
        "created_at": "created_at",
        "external_id": "external_id",
        "cadence_days": "cadence",
    },
    "companies": {
        "id": "source_id",
        "people": None,
        "last_touch": None,
        "updated_at": None,
        "created_at": "created_at",
        "external_id": "external_id",
    },
    "deals": {
        "id": "source_id",
        "contact_id": "contact_ref",
        "company_id": "company_ref",
        "pipeline": "pipeline",
        "probability": "probability",
        "weighted": None,
        "days_in_stage": None,
        "stalled": None,
        "closed_at": "closed_at",
        "updated_at": None,
        "external_id": "external_id",
        "created_at": "created_at",
        "contact": "contact",
        "status": "status",
    },
    "activities": {
        "id": "source_id",
        "contact_id": "contact_ref",
        "company_id": "company_ref",
        "deal_id": "deal_ref",
        "subject": None,
    },
    "followups": {
        "id": "source_id",
        "kind": "kind",
        "relative": None,
        "status": None,
        "updated_at": None,
        "subject": "subject",
        "note": "note",
        "contact_id": "contact_ref",
        "company_id": "company_ref",
        "deal_id": "deal_ref",
    },
}
# Fields one column fills: a second column claiming one becomes a custom field instead of being glued on.
_SINGLE = {
    "external_id", "source_id", "company_ref", "contact_ref", "deal_ref", "created_at", "birthday", "amount",
    "currency", "stage", "pipeline", "status", "close_date", "is_won", "is_closed", "probability",
    "due_at", "done_at", "at", "kind", "uid", "domain", "website", "phone", "subject_kind", "every", "from_done",
    "owner", "by", "type", "city", "region", "postcode", "country", "name", "first_name", "title", "company",
}  # fmt: skip
_CUSTOM = re.compile(r"custom\.(\w+)\s*(?::\s*(\w+)\s*(?:\((.*)\))?)?")


def _custom_key(header: str, taken: set[str], reserved: set[str], position: int) -> str:
    """A valid custom-field key made from HEADER ('Other Country/Region' → 'other_country_region'),
    not a built-in name, not one of TAKEN."""
    text = unicodedata.normalize("NFC", header.removeprefix("custom.")).strip().lower()
    key = re.sub(r"[\W_]+", "_", text).strip("_") or f"column_{position}"
    if key in reserved:
        key = f"x_{key}"
    unique, n = key, 2
    while unique in taken:
        unique, n = f"{key}_{n}", n + 1
    taken.add(unique)
    return unique


def map_headers(
    headers: list[str], kind: str, overrides: dict[str, str] | None = None, unknown: str = "field"
) -> Mapping:
    """Each column's field. OVERRIDES ("Header" → field, custom.KEY or ignore) win; columns nobody
    recognises become custom fields (unknown="field") or are ignored (unknown="ignore")."""
    from crmcli.domain.fields import RESERVED

    if kind not in KINDS:
        raise UsageError(f"unknown kind '{kind}': use {', '.join(KINDS)}")
    headers = [str(h) if h is not None else "" for h in headers]
    keys = [header_key(h) for h in headers]
    own = _OWN_MARKERS[kind] <= set(keys)
    wanted = {header_key(k): v.strip() for k, v in (overrides or {}).items()}
    columns: list[str | None] = [None] * len(headers)
    fixed: set[int] = set()  # columns the mapping, crm's own export or a custom.KEY header decided
    types: dict[str, tuple[str, list[str]]] = {}
    groups: dict[int, tuple[str, str]] = {}
    for i, (header, key) in enumerate(zip(headers, keys, strict=True)):
        if key in wanted:
            target = wanted[key]
            if target != IGNORE and target not in FIELDS[kind] and not target.startswith("custom."):
                fields = f"{kind} have no field '{target}' (fields: {', '.join(FIELDS[kind])})"
                raise Invalid(
                    f"column {header} cannot go to '{target}': {fields}",
                    hint=Hint(f"{{mapping}} {literal(f'{header}={target}')}: {literal(fields)}", form="{hint}"),
                )
            columns[i] = None if target == IGNORE else target
            fixed.add(i)
            continue
        if not key:
            continue
        custom = _CUSTOM.fullmatch(header.strip())
        if custom:  # crm's own custom.KEY and custom.KEY:TYPE headers keep their key
            name, type_, choices = custom.groups()
            columns[i] = f"custom.{name}"
            if type_:
                from crmcli.values.fieldtypes import split_choices

                types[name] = (type_.lower(), split_choices(choices))
            fixed.add(i)
            continue
        if own and header.strip() in _OWN[kind]:
            columns[i] = _OWN[kind][header.strip()]
            fixed.add(i)
            continue
        found = field_for(kind, header)
        if found in _ADDRESS or found == IGNORE and kind in ("contacts", "companies"):
            prefix, rest = _split_prefix(key)
            address = _address_part(rest if prefix else key)
            if address:
                groups[i] = address
        columns[i] = found
    if kind == "contacts":
        _contact_shapes(columns, keys, fixed)
    _keep_one_address(columns, groups, fixed)
    _keep_single(columns, keys, fixed)
    unknowns: list[str] = []
    taken = {c[7:] for c in columns if c and c.startswith("custom.")}
    reserved = set(RESERVED) | set(FIELDS[kind])
    for i, header in enumerate(headers):
        if i in fixed or not keys[i]:
            continue
        column = columns[i]
        if column == IGNORE:
            columns[i] = None
        elif column is None or column == "custom":
            unknowns.append(header)
            columns[i] = None if unknown == "ignore" else f"custom.{_custom_key(header, taken, reserved, i + 1)}"
    for header in wanted:
        if header not in keys:
            raise Invalid(
                f"the mapping names a column the file does not have: {header}",
                hint=Hint(f"{{mapping}} names a column the file does not have: {literal(header)}", form="{hint}"),
            )
    return Mapping(kind, columns, list(headers), unknowns, own, types)


def _contact_shapes(columns: list[str | None], keys: list[str], fixed: set[int]) -> None:
    """The name and title shapes of a contacts file (see the module docstring)."""
    present = {c for i, c in enumerate(columns) if c}
    names = [i for i, c in enumerate(columns) if c == "name" and i not in fixed]
    if names and "last_name" in present and "first_name" not in present:
        first = next((i for i in names if keys[i] in _NAME_FIRST_AMBIGUOUS), names[0])
        columns[first] = "first_name"  # Nome + Cognome, Nombre + Apellidos, name + surname
    elif names and "first_name" in present and "last_name" not in present:
        for i in names:
            if keys[i] in _SURNAME_AMBIGUOUS:
                columns[i] = "last_name"  # Vorname + Name, Prénom + Nom
                break
    titles = [i for i, c in enumerate(columns) if c == "title" and i not in fixed]
    if len(titles) > 1:
        for i in titles:
            if keys[i] in _TITLE_KEYS:
                columns[i] = "prefix" if "prefix" not in present else "custom"
    parts = {k: i for i, k in enumerate(keys) if k in ("birthyear", "birthmonth", "birthday") and i not in fixed}
    if len(parts) == 3:
        for i in parts.values():
            columns[i] = "birthday"  # Thunderbird: year, month, day cells in that order
            fixed.add(i)


def _keep_one_address(columns: list[str | None], groups: dict[int, tuple[str, str]], fixed: set[int]) -> None:
    """One address of the file's several fills street … country; the others' columns become custom fields."""
    present = {g for i, (g, part) in groups.items() if part not in ("label", "pobox") and i not in fixed}
    primary = next((g for g in _GROUP_ORDER if g in present), None)
    for i, (group, part) in groups.items():
        if i in fixed:
            continue
        if part == "label":
            columns[i] = IGNORE
        elif group != primary or part == "pobox":
            columns[i] = "custom"


def _keep_single(columns: list[str | None], keys: list[str], fixed: set[int]) -> None:
    """A second column for a one-value field becomes a custom field; a generic own-id column ('ID') beats
    a named one ('Contact ID')."""
    seen: dict[str, int] = {}
    order = sorted(range(len(columns)), key=lambda i: (i not in fixed, keys[i] not in ("id", "recordid"), i))
    for i in order:
        column = columns[i]
        if column in _SINGLE:
            if column in seen and i not in fixed:
                columns[i] = "custom"
            else:
                seen.setdefault(column, i)


def explain_unmapped(mapping: Mapping) -> Note:
    """Why a file's rows were all rejected, for the message: the columns nobody recognised and what
    the kind needs; its hint, how to say which columns hold it (MAPPING), with a ready example of
    the file's first unrecognised headers."""
    from crmcli.domain.lookup import Note

    needs, examples = NEEDS[mapping.kind]
    mapped = [f"{h} → {c}" for h, c in mapping.describe() if c != "(ignored)" and not c.startswith("custom.")]
    lines = []
    if mapping.unknown:
        lines.append(f"Columns not recognised: {', '.join(mapping.unknown)}.")
    if mapped:
        lines.append(f"Recognised: {', '.join(mapped)}.")
    lines.append(f"{mapping.kind.capitalize()} need {needs}")
    says = "say which columns hold them with {mapping}."
    targets = mapping.unknown[: len(examples)] or [h for h in mapping.headers if h][: len(examples)]
    if targets:
        pairs = (literal(_quote(f"{h}={f}")) for h, f in zip(targets, examples, strict=False))
        says += "\nFor example: " + " ".join(f"{{mapping}} {pair}" for pair in pairs)
    return Note("\n".join(lines), Hint(says, form="{message}: {hint}"))


def _quote(text: str) -> str:
    return (
        f'"{text}"'
        if '"' not in text and "$" not in text and "`" not in text and "\\" not in text
        else shlex.quote(text)
    )
