"""Column mapping: real exports of other tools (tests/data/csv, tests/data/xlsx), Outlook's localised
headers, the languages and shapes of hand-made sheets, references, and crm's own export."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcli.commands._common import option_of
from crmcli.exporter.records import HEADERS
from crmcli.importer.headers import (
    _WORDS,
    FIELDS,
    IGNORE,
    KINDS,
    _keyed,
    explain_unmapped,
    field_for,
    guess_kind,
    header_key,
    map_headers,
)
from crmcli.values.normalize import field_key

DATA = Path(__file__).parent / "data"


def mapped(headers: list[str], kind: str | None = None) -> dict[str, str | None]:
    kind = kind or guess_kind(headers)
    m = map_headers(headers, kind)
    return dict(zip(m.headers, m.columns, strict=True))


def read_headers(name: str) -> list[str]:
    path = DATA / "csv" / name
    text = path.read_text(encoding="utf-8-sig")
    dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t")
    return next(csv.reader(text.splitlines(), dialect))


def assert_valid(columns: list[str | None]) -> None:
    """Every custom column has a key the custom-field code accepts, and no two columns share one."""
    keys = [c[7:] for c in columns if c and c.startswith("custom.")]
    for key in keys:
        assert field_key(key) == key
    assert len(keys) == len(set(keys))


# ---------------------------------------------------------------- real files

REAL = {
    "roundcube-outlook.csv": (
        "contacts",
        {"E-mail Address": "emails", "E-mail 2 Address": "emails", "E-mail 3 Address": "emails"},
    ),
    "roundcube-thunderbird.csv": (
        "contacts",
        {
            "First Name": "first_name",
            "Last Name": "last_name",
            "Display Name": "name",
            "Primary Email": "emails",
            "Secondary Email": "emails",
            "Work Phone": "phones",
            "Home Phone": "phones",
            "Mobile Number": "phones",
            "Fax Number": "custom.fax_number",
            "Work Address": "street",
            "Work Address 2": "street",
            "Work City": "city",
            "Work State": "region",
            "Work ZipCode": "postcode",
            "Work Country": "country",
            "Home Address": "custom.home_address",
            "Home City": "custom.home_city",
            "Job Title": "title",
            "Organization": "company",
            "Web Page 1": "website",
            "Web Page 2": "custom.web_page_2",
            "Birth Year": "birthday",
            "Birth Month": "birthday",
            "Birth Day": "birthday",
            "Notes": "notes",
            "": None,
        },
    ),
    "roundcube-all.csv": (
        "contacts",
        {
            "Display Name": "name",
            "Title": "prefix",
            "Job Title": "title",
            "Email Home": "emails",
            "Email Work": "emails",
            "Home Mobile": "phones",
            "Business Street": "street",
            "Work City": "city",
            "Work Zip": "postcode",
            "Home Street": "custom.home_street",
            "Other Country/Region": "custom.other_country_region",
            "Birthday": "birthday",
            "Categories": "tags",
            "Website Home Page": "custom.website_home_page",
        },
    ),
    "thunderbird-basic.csv": (
        "contacts",
        {"First Name": "first_name", "Display Name": "name", "Primary Email": "emails", "Screen Name": None},
    ),
    "thunderbird-semicolon.csv": (
        "contacts",
        {"Display Name": "name", "First Name": "first_name", "Last Name": "last_name", "Primary Email": "emails"},
    ),
    "thunderbird-name-email.csv": ("contacts", {"Name": "name", "Email": "emails"}),
    "linkedin-outlook-format.csv": (
        "contacts",
        {
            "Title": "prefix",
            "First Name": "first_name",
            "E-mail Address": "emails",
            "Business Street": "street",
            "Business Country": "country",
            "Home Country": "custom.home_country",
            "Company": "company",
            "Job Title": "title",
            "Mobile Phone": "phones",
            "Web Page": "website",
            "Personal Web Page": "custom.personal_web_page",
            "Other Address PO Box": "custom.other_address_po_box",
        },
    ),
    "hubspot-contacts.csv": (
        "contacts",
        {
            "Record ID": "external_id",
            "First Name": "first_name",
            "Last Name": "last_name",
            "Email": "emails",
            "Phone Number": "phones",
            "Lead Status": "custom.lead_status",
            "Create Date": "created_at",
        },
    ),
    "twenty-spreadsheet-import.csv": (
        "contacts",
        {
            "firstname": "first_name",
            "lastname": "last_name",
            "email": "emails",
            "manager": "custom.manager",
            "years": "custom.years",
            "team": "custom.team",
        },
    ),  # fmt: skip
    "salesforce-accounts-insert.csv": (
        "companies",
        {"Name": "name", "Industry": "industry", "NumEmp": "custom.numemp", "RichText": "custom.richtext"},
    ),
    "salesforce-opportunities.csv": (
        "deals",
        {
            "ID": "external_id",
            "ACCOUNTID": "company_ref",
            "NAME": "title",
            "DESCRIPTION": "notes",
            "STAGENAME": "stage",
            "AMOUNT": "amount",
            "PROBABILITY": "probability",
            "CLOSEDATE": "close_date",
            "LEADSOURCE": "source",
            "ISCLOSED": "is_closed",
            "ISWON": "is_won",
            "OWNERID": "owner",
            "CREATEDDATE": "created_at",
            "ISDELETED": None,
            "CREATEDBYID": None,
            "SYSTEMMODSTAMP": None,
            "TYPE": "custom.type",
            "ORACLE_ID__C": "custom.oracle_id_c",
        },
    ),
    "salesforce-accounts.csv": (
        "companies",
        {
            "ID": "external_id",
            "NAME": "name",
            "BILLINGSTREET": "street",
            "BILLINGCITY": "city",
            "BILLINGSTATE": "region",
            "BILLINGPOSTALCODE": "postcode",
            "BILLINGCOUNTRY": "country",
            "SHIPPINGSTREET": "custom.shippingstreet",
            "SHIPPINGCOUNTRY": "custom.shippingcountry",
            "PHONE": "phone",
            "FAX": "custom.fax",
            "WEBSITE": "website",
            "INDUSTRY": "industry",
            "DESCRIPTION": "notes",
            "OWNERID": "owner",
            "CREATEDDATE": "created_at",
            "PARENTID": "custom.parentid",
            "MASTERRECORDID": "custom.masterrecordid",
        },
    ),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_exports_map_their_important_columns(name: str) -> None:
    kind, expected = REAL[name]
    headers = read_headers(name)
    assert guess_kind(headers) == kind
    m = map_headers(headers, kind)
    got = dict(zip(m.headers, m.columns, strict=True))
    for header, field in expected.items():
        if field is None and header not in got:
            continue
        if field is None:
            assert got[header] is None or got[header].startswith("custom."), header
        else:
            assert got[header] == field, header
    assert_valid(m.columns)


def test_every_sample_file_is_listed_with_its_source() -> None:
    for folder in ("csv", "xlsx"):
        sources = (DATA / folder / "SOURCES.md").read_text(encoding="utf-8")
        for path in (DATA / folder).iterdir():
            if path.name != "SOURCES.md":
                assert f"| {path.name} |" in sources, path.name


# ---------------------------------------------------------------- Outlook, every language

OUTLOOK_EN = (
    "Title,First Name,Middle Name,Last Name,Suffix,Company,Department,Job Title,Business Street,Business Street 2,"
    "Business Street 3,Business City,Business State,Business Postal Code,Business Country/Region,Home Street,"
    "Home Street 2,Home Street 3,Home City,Home State,Home Postal Code,Home Country/Region,Other Street,Other Street 2,"
    "Other Street 3,Other City,Other State,Other Postal Code,Other Country/Region,Assistant's Phone,Business Fax,"
    "Business Phone,Business Phone 2,Callback,Car Phone,Company Main Phone,Home Fax,Home Phone,Home Phone 2,ISDN,"
    "Mobile Phone,Other Fax,Other Phone,Pager,Primary Phone,Radio Phone,TTY/TDD Phone,Telex,Account,Anniversary,"
    "Assistant's Name,Billing Information,Birthday,Business Address PO Box,Categories,Children,Directory Server,"
    "E-mail Address,E-mail Type,E-mail Display Name,E-mail 2 Address,E-mail 2 Type,E-mail 2 Display Name,"
    "E-mail 3 Address,E-mail 3 Type,E-mail 3 Display Name,Gender,Government ID Number,Hobby,Home Address PO Box,"
    "Initials,Internet Free Busy,Keywords,Language,Location,Manager's Name,Mileage,Notes,Office Location,"
    "Organizational ID Number,Other Address PO Box,Priority,Private,Profession,Referred By,Sensitivity,Spouse,"
    "User 1,User 2,User 3,User 4,Web Page"
).split(",")
# The header row of a real German Outlook export (with the two columns Excel added).
OUTLOOK_DE = (
    "Anrede,Vorname,Weitere Vornamen,Nachname,Suffix,Firma,Abteilung,Position,Straße geschäftlich,"
    "Straße geschäftlich 2,Straße geschäftlich 3,Ort geschäftlich,Region geschäftlich,Postleitzahl geschäftlich,"
    "Land/Region geschäftlich,Straße privat,Straße privat 2,Straße privat 3,Ort privat,Bundesland/Kanton privat,"
    "Postleitzahl privat,Land/Region privat,Weitere Straße,Weitere Straße 2,Weitere Straße 3,Weiterer Ort,"
    "Weiteres/r Bundesland/Kanton,Weitere Postleitzahl,Weiteres/e Land/Region,Telefon Assistent,Fax geschäftlich,"
    "Telefon geschäftlich,Telefon geschäftlich 2,Rückmeldung,Autotelefon,Telefon Firma,Fax privat,Telefon (privat),"
    "Telefon (privat 2),ISDN,Mobiltelefon,Weiteres Fax,Weiteres Telefon,Pager,Haupttelefon,Mobiltelefon 2,"
    "Telefon für Hörbehinderte,Telex,Abrechnungsinformation,Assistent(in),Benutzer 1,Benutzer 2,Benutzer 3,"
    "Benutzer 4,Beruf,Büro,E-Mail-Adresse,E-Mail-Typ,E-Mail: Angezeigter Name,E-Mail 2: Adresse,E-Mail 2: Typ,"
    "E-Mail 2: Angezeigter Name,E-Mail 3: Adresse,E-Mail 3: Typ,E-Mail 3: Angezeigter Name,Empfohlen von,"
    "Geburtstag,Geschlecht,Hobby,Initialen,Internet Frei/Gebucht,Jahrestag,Kategorien,Kinder,Konto,"
    "Name des/r Vorgesetzten,Notizen,Organisationsnr.,Ort,Partner,Postfach geschäftlich,Postfach privat,Priorität,"
    "Privat,Reisekilometer,Sozialversicherungsnr.,Sprache,Stichwörter,Vertraulichkeit,Verzeichnisserver,Webseite,"
    "Weiteres Postfach,Spalte1,Spalte2"
).split(",")

# Outlook's localised contact export headers (as Exchange's CSV importer lists them per language):
# the field each should give. Business address columns fill the address; home and other ones are custom.
_C = "custom"
OUTLOOK = {
    "fr": {
        "Prénom": "first_name", "Deuxième prénom": "middle_name", "Nom": "last_name", "Suffixe": "suffix",
        "Société": "company", "Titre": "title", "Rue (bureau)": "street", "Rue (bureau) 2": "street",
        "Ville (bureau)": "city", "Dép/Région (bureau)": "region", "Code postal (bureau)": "postcode",
        "Pays/Région (bureau)": "country", "Rue (domicile)": _C, "Ville (domicile)": _C, "Rue (autre)": _C,
        "Pays/Région (autre)": _C, "Téléphone (bureau)": "phones", "Téléphone (domicile)": "phones",
        "Tél. mobile": "phones", "Télécopie (bureau)": _C, "Récepteur de radiomessagerie": _C,
        "Adresse de messagerie": "emails", "Adresse de messagerie 2": "emails", "Type de messagerie": None,
        "Nom complet de l'adresse de messagerie": None, "Anniversaire": "birthday", "Catégories": "tags",
        "Notes": "notes", "Page Web": "website", "B.P. professionnelle": _C,
    },
    "es": {
        "Nombre": "first_name", "Segundo nombre": "middle_name", "Apellidos": "last_name", "Organización": "company",
        "Puesto": "title", "Calle del trabajo": "street", "Calle del trabajo 2": "street",
        "Ciudad de trabajo": "city", "Provincia o estado de trabajo": "region", "Código postal del trabajo": "postcode",
        "País o región del trabajo": "country", "Otra calle": _C, "Otra ciudad": _C, "Otro país o región": _C,
        "País o región del domicilio": _C, "Teléfono del trabajo": "phones", "Particular": _C,
        "Mobile Phone": "phones", "Radioteléfono": "phones", "Otro teléfono": "phones",
        "E-mail Address": "emails", "Dirección de correo electrónico 2": "emails",
        "Tipo de correo electrónico 2": None, "Nombre de pantalla de correo electrónico": None,
        "Categorías": "tags", "Página web": "website", "Birthday": "birthday", "Notes": "notes",
    },
    "it": {
        "Nome": "first_name", "Secondo nome": "middle_name", "Cognome": "last_name", "Titolo": "prefix",
        "Titolo straniero": "suffix", "Società": "company", "Posizione": "title", "Via (uff.)": "street",
        "Via (uff.) 2": "street", "Città (uff.)": "city", "Provincia (uff.)": "region", "CAP (uff.)": "postcode",
        "Paese (uff.)": "country", "Via (ab.)": _C, "Città (ab.)": _C, "CAP (ab.)": _C, "Altra via": _C,
        "Altro CAP": _C, "Altro paese": _C, "Cellulare": "phones", "Altro telefono": "phones",
        "Telefono principale": "phones", "Telefono assistente": _C, "Fax (uff.)": _C,
        "Indirizzo posta elettronica": "emails", "Indirizzo posta elettronica 2": "emails",
        "Tipo posta elettronica": None, "Nome visualizzato posta elettronica": None, "Compleanno": "birthday",
        "Categorie": "tags", "Pagina Web": "website", "Notes": "notes",
    },
    "pt-BR": {
        "Primeiro nome": "first_name", "Segundo nome": "middle_name", "Sobrenome": "last_name",
        "Tratamento": "prefix", "Sufixo": "suffix", "Empresa": "company", "Cargo": "title",
        "Business Street": "street", "Rua do endereço comercial 2": "street", "Business City": "city",
        "Business State": "region", "Business Postal Code": "postcode", "País/Região da Empresa": "country",
        "Endereço residencial": _C, "Cidade do endereço residencial": _C, "CEP do endereço residencial": _C,
        "País/Região de Residência": _C, "Outro endereço": _C, "Outro País/Região": _C, "Cidade": _C, "CEP": _C,
        "Telefone comercial": "phones", "Telefone residencial": "phones", "Telefone celular": "phones",
        "Radiofone": "phones", "Fax comercial": _C, "E-mail Address": "emails", "Endereço de email 2": "emails",
        "Tipo de email": None, "Nome para exibição do email": None, "Birthday": "birthday",
        "Categorias": "tags", "Página da Web": "website", "Anotações": "notes",
    },
    "pt-PT": {
        "Primeiro nome": "first_name", "Outros nomes/apelidos": "middle_name", "Apelido": "last_name",
        "Título": "prefix", "Empresa": "company", "Cargo": "title", "Rua da empresa": "street",
        "Rua da empresa 2": "street", "Localidade da empresa": "city", "Distrito da empresa": "region",
        "Código postal da empresa": "postcode", "País/Região da Empresa": "country", "Rua da residência": _C,
        "Localidade da residência": _C, "País da Residência/Região": _C, "Rua do outro endereço": _C,
        "Código postal do outro endereço": _C, "Outro País/Região": _C, "Telefone da empresa": "phones",
        "Telemóvel": "phones", "Endereço de correio electrónico": "emails",
        "Endereço do correio electrónico 2": "emails", "Tipo de correio electrónico": None,
        "Nome a apresentar para o correio electrónico": None, "Data de nascimento": "birthday",
        "Categorias": "tags", "Página na Web": "website", "Notas": "notes",
    },
    "nl": {
        "Voornaam": "first_name", "Middelste naam": "middle_name", "Achternaam": "last_name", "Titel": "prefix",
        "Achtervoegsel": "suffix", "Bedrijf": "company", "Functie": "title", "Werkadres, straat": "street",
        "Werkadres 2, straat": "street", "Werkadres, plaats": "city", "Werkadres, provincie": "region",
        "Werkadres, postcode": "postcode", "Land/regio (werk)": "country", "Huisadres, straat": _C,
        "Huisadres, plaats": _C, "Land/regio (thuis)": _C, "Ander adres, straat": _C, "Land/regio (anders)": _C,
        "Telefoon op werk": "phones", "Telefoon thuis": "phones", "Mobiele telefoon": "phones",
        "Fax op werk": _C, "E-mailadres": "emails", "E-mailadres 2": "emails", "E-mailtype": None,
        "Weergavenaam voor e-mail": None, "E-mail, weergegeven naam 2": None, "Verjaardag": "birthday",
        "Categorieën": "tags", "Webpagina": "website", "Notities": "notes",
    },
    "pl": {
        "Imię": "first_name", "Drugie imię": "middle_name", "Nazwisko": "last_name", "Tytuł": "prefix",
        "Sufiks": "suffix", "Firma": "company", "Stanowisko": "title", "Adres służbowy - ulica": "street",
        "Adres służbowy - ulica 2": "street", "Adres służbowy - miejscowość": "city",
        "Adres służbowy - województwo": "region", "Adres służbowy - kod pocztowy": "postcode",
        "Adres służbowy - kraj/region": "country", "Adres domowy - ulica": _C, "Adres domowy - miejscowość": _C,
        "Inny adres - kraj/region": _C, "Telefon służbowy": "phones", "Telefon komórkowy": "phones",
        "Telefon domowy": "phones", "Faks służbowy": _C, "Adres e-mail": "emails", "Adres e-mail 2": "emails",
        "Typ poczty e-mail": None, "Rodzaj e-mail 2": None, "Wyświetlana nazwa e-mail": None,
        "Urodziny": "birthday", "Kategorie": "tags", "Strona sieci Web": "website", "Notatki": "notes",
    },
    "ja": {
        "名": "first_name", "ミドル ネーム": "middle_name", "姓": "last_name", "肩書き": "prefix", "敬称": "suffix",
        "会社名": "company", "役職": "title", "番地 (会社)": "street", "住所 2 (会社)": "street",
        "市町村 (会社)": "city", "都道府県 (会社)": "region", "郵便番号 (会社)": "postcode",
        "国 (会社)/地域": "country", "番地 (自宅)": _C, "国 (自宅)/地域": _C, "番地 (その他)": _C,
        "会社電話": "phones", "自宅電話": "phones", "携帯電話": "phones", "秘書の電話": _C, "会社 FAX": _C,
        "電子メール アドレス": "emails", "電子メール 2 アドレス": "emails", "電子メールの種類": None,
        "電子メール表示名": None, "誕生日": "birthday", "分類": "tags", "Web ページ": "website", "メモ": "notes",
    },
    "ko": {
        "이름": "first_name", "중간 이름": "middle_name", "성": "last_name", "호칭(영문)": "prefix",
        "호칭(한글)": "suffix", "회사": "company", "직함": "title", "근무지 주소 번지": "street",
        "근무지 번지 2": "street", "근무지 구/군/시": "city", "근무지 시/도": "region",
        "근무지 우편 번호": "postcode", "근무지 국가/지역": "country", "집 번지": _C, "집 주소 구/군/시": _C,
        "기타 번지": _C, "근무처 전화": "phones", "집 전화 번호": "phones", "휴대폰": "phones",
        "비서 전화 번호": _C, "전자 메일 주소": "emails", "전자 메일 2 주소": "emails", "전자 메일 유형": None,
        "전자 메일 표시 이름": None, "생일": "birthday", "범주 항목": "tags", "웹 페이지": "website",
        "메모": "notes",
    },
    "zh-CN": {
        "名": "first_name", "中间名": "middle_name", "姓": "last_name", "英文称谓": "prefix", "中文称谓": "suffix",
        "单位": "company", "职务": "title", "商务地址 街道": "street", "商务地址 街道 2": "street",
        "商务地址 市/县": "city", "商务地址 省/市/自治区": "region", "商务地址 邮政编码": "postcode",
        "商务地址 国家/地区": "country", "住宅地址 街道": _C, "其他地址 国家/地区": _C, "商务电话": "phones",
        "移动电话": "phones", "电子邮件地址": "emails", "电子邮件 2 地址": "emails", "电子邮件类型": None,
        "电子邮件显示名称": None, "生日": "birthday", "类别": "tags", "网页": "website", "附注": "notes",
    },
}  # fmt: skip


@pytest.mark.parametrize("language", sorted(OUTLOOK))
def test_outlook_localised_exports(language: str) -> None:
    expected = OUTLOOK[language]
    headers = list(expected)
    assert guess_kind(headers) == "contacts"
    got = mapped(headers, "contacts")
    wrong = {}
    for header, field in expected.items():
        value = got[header]
        if field == _C:
            ok = value is not None and value.startswith("custom.")
        else:
            ok = value == field
        if not ok:
            wrong[header] = (value, field)
    assert not wrong
    assert_valid(list(got.values()))


@pytest.mark.parametrize("headers", [OUTLOOK_EN, OUTLOOK_DE], ids=["en", "de"])
def test_every_outlook_column_is_mapped_or_a_custom_field(headers: list[str]) -> None:
    m = map_headers(headers, "contacts")
    got = dict(zip(headers, m.columns, strict=True))
    for header, column in got.items():
        assert column is None or column in FIELDS["contacts"] or column.startswith("custom."), header
    assert_valid(m.columns)
    # one address fills the fields: Business; Home and Other are custom fields
    address = {c for c in m.columns if c in ("street", "city", "region", "postcode", "country")}
    assert address == {"street", "city", "region", "postcode", "country"}
    assert m.columns.count("city") == 1
    ignored = [h for h, c in got.items() if c is None]
    assert all(re.search(r"(Type|Typ|Display Name|Angezeigter Name)$", h) for h in ignored), ignored


def test_outlook_english_in_detail() -> None:
    got = mapped(OUTLOOK_EN)
    assert got["Title"] == "prefix" and got["Job Title"] == "title" and got["Suffix"] == "suffix"
    assert got["Business Street 2"] == got["Business Street 3"] == "street"
    assert got["Other Country/Region"] == "custom.other_country_region"
    assert got["Home Street"] == "custom.home_street"
    assert got["Business Address PO Box"] == "custom.business_address_po_box"
    assert got["Assistant's Phone"] == "custom.assistant_s_phone"
    assert got["Business Fax"] == "custom.business_fax" and got["Telex"] == "custom.telex"
    assert [h for h, c in got.items() if c == "phones"] == [
        "Business Phone", "Business Phone 2", "Car Phone", "Company Main Phone", "Home Phone", "Home Phone 2",
        "Mobile Phone", "Other Phone", "Primary Phone", "Radio Phone", "TTY/TDD Phone",
    ]  # fmt: skip
    assert [h for h, c in got.items() if c == "emails"] == ["E-mail Address", "E-mail 2 Address", "E-mail 3 Address"]
    assert got["Birthday"] == "birthday" and got["Web Page"] == "website" and got["Categories"] == "tags"
    assert got["User 1"] == "custom.user_1"


def test_outlook_german_in_detail() -> None:
    got = mapped(OUTLOOK_DE)
    assert got["Anrede"] == "prefix" and got["Position"] == "title" and got["Firma"] == "company"
    assert got["Straße geschäftlich"] == "street" and got["Ort geschäftlich"] == "city"
    assert got["Land/Region geschäftlich"] == "country" and got["Postleitzahl geschäftlich"] == "postcode"
    assert got["Straße privat"] == "custom.straße_privat"
    assert got["Weiteres/e Land/Region"] == "custom.weiteres_e_land_region"
    assert got["Telefon (privat)"] == got["Mobiltelefon"] == got["Haupttelefon"] == "phones"
    assert got["Telefon Assistent"] == "custom.telefon_assistent"
    assert got["E-Mail 2: Adresse"] == "emails" and got["E-Mail: Angezeigter Name"] is None
    assert got["Geburtstag"] == "birthday" and got["Webseite"] == "website" and got["Kategorien"] == "tags"
    assert got["Ort"] == "custom.ort"  # Outlook's "Location" (Ort) is not the business city


# ---------------------------------------------------------------- real sheets


XLSX = {
    "it-fornitori.xlsx": (
        "companies",
        {"Nome": "name", "Indirizzo": "address", "Telefono": "phone", "Sito Web": "website", "Città": "city",
         "Nazione": "country", "Note": "notes", "Partita IVA": "custom.partita_iva", "Email": "custom.x_email"},
    ),
    "it-clienti.xlsx": (
        "companies",
        {"Codice cliente": "external_id", "Ragione sociale": "name", "Agente": "owner",
         "Premio annuo": "custom.premio_annuo"},
    ),
    "pt-br-contatos.xlsx": (
        "contacts",
        {"Nome": "name", "Email": "emails", "Telefone": "phones", "CEP": "postcode", "Logradouro": "street",
         "Bairro": "custom.bairro", "Cidade": "city", "Estado": "region"},
    ),
    "vi-khach-hang.xlsx": (
        "contacts",
        {"Mã khách hàng": "external_id", "Họ và tên": "name", "Số điện thoại": "phones", "Email": "emails",
         "Sinh nhật": "birthday", "Nhóm": "tags", "Địa chỉ": "address", "Tỉnh/Thành": "region",
         "Quốc gia": "country", "Nguồn giới thiệu": "source", "Ghi chú": "notes", "Ngày tạo": "created_at"},
    ),
    "vi-danh-ba.xlsx": (
        "contacts",
        {"Họ tên": "name", "Chức vụ": "title", "Đơn vị": "company", "Số điện thoại": "phones", "Địa chỉ": "address"},
    ),
    "fr-contacts.xlsx": (
        "contacts",
        {"Prénom": "first_name", "Nom": "last_name", "Courriel": "emails", "Téléphone": "phones",
         "Société": "company"},
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(XLSX))
def test_real_sheet_headers(name: str) -> None:
    from openpyxl import load_workbook

    kind, expected = XLSX[name]
    sheet = load_workbook(DATA / "xlsx" / name, read_only=True).active
    headers = [str(c) for c in next(sheet.iter_rows(max_row=1, values_only=True))]
    assert guess_kind(headers) == kind
    got = mapped(headers, kind)
    assert {h: got[h] for h in expected} == expected
    assert_valid(list(got.values()))


# ---------------------------------------------------------------- languages of hand-made sheets

# (language, header, field) for the usual contact fields, as people title their own sheets.
LANGUAGE = {
    "it": {"Nome completo": "name", "Nome": "name", "Cognome": "last_name", "Secondo nome": "middle_name",
           "E-mail": "emails", "Indirizzo email": "emails", "Telefono": "phones", "Cellulare": "phones",
           "Telefono ufficio": "phones", "Azienda": "company", "Ragione sociale": "company", "Ruolo": "title",
           "Qualifica": "title", "Note": "notes", "Etichette": "tags", "Via": "street", "Città": "city",
           "Provincia": "region", "CAP": "postcode", "Paese": "country", "Data di nascita": "birthday",
           "Sito web": "website", "Responsabile": "owner", "Fonte": "source", "Data creazione": "created_at"},
    "pt-BR": {"Nome completo": "name", "Primeiro nome": "first_name", "Sobrenome": "last_name", "E-mail": "emails",
              "Telefone": "phones", "Celular": "phones", "Empresa": "company", "Cargo": "title",
              "Observações": "notes", "Etiquetas": "tags", "Logradouro": "street", "Cidade": "city",
              "Estado": "region", "UF": "region", "CEP": "postcode", "País": "country",
              "Data de nascimento": "birthday", "Site": "website", "Responsável": "owner", "Origem": "source",
              "Data de criação": "created_at"},
    "pt-PT": {"Nome": "name", "Apelido": "last_name", "Telemóvel": "phones", "Empresa": "company",
              "Código postal": "postcode", "Localidade": "city", "Distrito": "region", "Notas": "notes"},
    "es": {"Nombre completo": "name", "Nombre": "name", "Apellidos": "last_name", "Primer apellido": "last_name",
           "Correo electrónico": "emails", "Correo": "emails", "Teléfono": "phones", "Móvil": "phones",
           "Celular": "phones", "Empresa": "company", "Cargo": "title", "Puesto": "title", "Notas": "notes",
           "Etiquetas": "tags", "Dirección": "address", "Calle": "street", "Ciudad": "city", "Provincia": "region",
           "Código postal": "postcode", "País": "country", "Fecha de nacimiento": "birthday",
           "Sitio web": "website", "Propietario": "owner", "Origen": "source", "Fecha de creación": "created_at"},
    "fr": {"Nom complet": "name", "Prénom": "first_name", "Nom de famille": "last_name", "Civilité": "prefix",
           "Courriel": "emails", "Adresse e-mail": "emails", "Téléphone": "phones", "Portable": "phones",
           "Mobile": "phones", "Société": "company", "Entreprise": "company", "Fonction": "title",
           "Poste": "title", "Commentaires": "notes", "Étiquettes": "tags", "Adresse": "address", "Rue": "street",
           "Ville": "city", "Région": "region", "Code postal": "postcode", "Pays": "country",
           "Date de naissance": "birthday", "Site web": "website", "Propriétaire": "owner", "Origine": "source",
           "Date de création": "created_at"},
    "nl": {"Volledige naam": "name", "Voornaam": "first_name", "Achternaam": "last_name",
           "Tussenvoegsel": "middle_name", "E-mailadres": "emails", "Telefoonnummer": "phones", "Mobiel": "phones",
           "Bedrijfsnaam": "company", "Functie": "title", "Opmerkingen": "notes", "Labels": "tags",
           "Adres": "address", "Straat": "street", "Woonplaats": "city", "Provincie": "region",
           "Postcode": "postcode", "Land": "country", "Geboortedatum": "birthday", "Website": "website",
           "Eigenaar": "owner", "Bron": "source", "Aanmaakdatum": "created_at"},
    "pl": {"Imię i nazwisko": "name", "Imię": "first_name", "Nazwisko": "last_name", "Adres e-mail": "emails",
           "Telefon": "phones", "Telefon komórkowy": "phones", "Nazwa firmy": "company", "Stanowisko": "title",
           "Uwagi": "notes", "Tagi": "tags", "Adres": "address", "Ulica": "street", "Miasto": "city",
           "Województwo": "region", "Kod pocztowy": "postcode", "Kraj": "country", "Data urodzenia": "birthday",
           "Strona www": "website", "Właściciel": "owner", "Źródło": "source", "Data utworzenia": "created_at"},
    "ja": {"氏名": "name", "名前": "name", "名": "first_name", "姓": "last_name", "メールアドレス": "emails",
           "電話番号": "phones", "携帯電話": "phones", "会社名": "company", "役職": "title", "備考": "notes",
           "タグ": "tags", "住所": "address", "市区町村": "city", "都道府県": "region", "郵便番号": "postcode",
           "国": "country", "生年月日": "birthday", "ウェブサイト": "website", "担当者": "owner",
           "作成日": "created_at"},
    "ko": {"성명": "name", "이름": "name", "성": "last_name", "이메일": "emails", "전화번호": "phones",
           "휴대전화": "phones", "회사명": "company", "직책": "title", "비고": "notes", "태그": "tags",
           "주소": "address",
           "도시": "city", "시/도": "region", "우편번호": "postcode", "국가": "country", "생년월일": "birthday",
           "웹사이트": "website", "담당자": "owner", "출처": "source", "생성일": "created_at"},
    "vi": {"Họ và tên": "name", "Tên": "name", "Họ": "last_name", "Tên đệm": "middle_name",
           "Thư điện tử": "emails", "Số điện thoại": "phones", "Di động": "phones", "Công ty": "company",
           "Chức vụ": "title", "Ghi chú": "notes", "Nhãn": "tags", "Địa chỉ": "address", "Thành phố": "city",
           "Tỉnh": "region", "Mã bưu chính": "postcode", "Quốc gia": "country", "Ngày sinh": "birthday",
           "Trang web": "website", "Ngành nghề": "custom", "Người phụ trách": "owner", "Nguồn": "source",
           "Ngày tạo": "created_at"},
    "de": {"Vollständiger Name": "name", "Vorname": "first_name", "Nachname": "last_name", "E-Mail": "emails",
           "Telefon": "phones", "Handy": "phones", "Firma": "company", "Position": "title", "Notizen": "notes",
           "Straße": "street", "Ort": "city", "Bundesland": "region", "PLZ": "postcode", "Land": "country",
           "Geburtsdatum": "birthday", "Webseite": "website", "Besitzer": "owner", "Quelle": "source"},
}  # fmt: skip


@pytest.mark.parametrize("language", sorted(LANGUAGE))
def test_each_language_maps_the_usual_fields_header_by_header(language: str) -> None:
    wrong = {}
    for header, expected in LANGUAGE[language].items():
        got = field_for("contacts", header)
        if got != (None if expected == "custom" else expected):
            wrong[header] = got
    assert not wrong


@pytest.mark.parametrize(
    "variant",
    [str.upper, str.lower, lambda h: f"  {h} ", lambda h: h.replace(" ", "_"), lambda h: h.replace(" ", "-")],
    ids=["upper", "lower", "padded", "snake", "kebab"],
)
def test_case_spacing_and_punctuation_do_not_matter(variant) -> None:
    for words in LANGUAGE.values():
        for header, expected in words.items():
            if expected != "custom":
                assert field_for("contacts", variant(header)) == expected, variant(header)


def test_accents_do_not_matter() -> None:
    assert field_for("contacts", "Telefono cellulare") == "phones"
    assert field_for("contacts", "Citta") == field_for("contacts", "Città") == "city"
    assert field_for("contacts", "Codigo postal") == "postcode"
    assert field_for("contacts", "Strasse") == field_for("contacts", "STRASSE") == "street"
    assert field_for("contacts", "Prenom") == "first_name"


def test_the_word_lists_do_not_contradict_themselves() -> None:
    for words in _WORDS.values():
        assert _keyed(words)[1] == []


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize(
    ("headers", "first", "last"),
    [
        (["name", "last_name", "email"], "name", "last_name"),
        (["Name", "Surname", "Phone"], "Name", "Surname"),
        (["Nome", "Cognome", "Cellulare"], "Nome", "Cognome"),
        (["Nombre", "Apellidos", "Correo"], "Nombre", "Apellidos"),
        (["Nome", "Sobrenome", "E-mail"], "Nome", "Sobrenome"),
        (["이름", "성", "이메일"], "이름", "성"),
        (["Tên", "Họ", "Email"], "Tên", "Họ"),
    ],
)
def test_name_beside_a_last_name_is_the_first_name(headers: list[str], first: str, last: str) -> None:
    got = mapped(headers, "contacts")
    assert got[first] == "first_name" and got[last] == "last_name"
    assert "name" not in got.values()


@pytest.mark.parametrize(("headers", "surname"), [(["Vorname", "Name"], "Name"), (["Prénom", "Nom"], "Nom"),
                                                   (["Voornaam", "Naam"], "Naam")])  # fmt: skip
def test_name_beside_a_first_name_is_the_last_name(headers: list[str], surname: str) -> None:
    assert mapped(headers, "contacts")[surname] == "last_name"


def test_a_full_name_column_stays_the_name_when_both_parts_are_there() -> None:
    got = mapped(["Name", "Given Name", "Family Name"], "contacts")
    assert got == {"Name": "name", "Given Name": "first_name", "Family Name": "last_name"}
    assert mapped(["Nome", "Email"], "contacts")["Nome"] == "name"


def test_numbered_and_labelled_variants() -> None:
    got = mapped(
        ["Given Name", "E-mail 1 - Type", "E-mail 1 - Value", "E-mail 2 - Value", "Email 2", "E-mail 3 Address",
         "Phone 1 - Type", "Phone 1 - Value", "Phone 2 - Label", "Phone 2 - Value", "Business Phone 2",
         "Home Street 2", "Organization 1 - Name", "Organization 1 - Title", "Website 1 - Value", "Web Page 2"],
        "contacts",
    )  # fmt: skip
    assert [h for h, c in got.items() if c == "emails"] == [
        "E-mail 1 - Value", "E-mail 2 - Value", "Email 2", "E-mail 3 Address"]  # fmt: skip
    assert [h for h, c in got.items() if c == "phones"] == ["Phone 1 - Value", "Phone 2 - Value", "Business Phone 2"]
    assert got["E-mail 1 - Type"] is None and got["Phone 2 - Label"] is None
    assert got["Home Street 2"] == "street"  # the file's only address
    assert got["Organization 1 - Name"] == "company" and got["Organization 1 - Title"] == "title"


def test_google_contacts_addresses() -> None:
    got = mapped(
        ["First Name", "Last Name", "Address 1 - Label", "Address 1 - Formatted", "Address 1 - Street",
         "Address 1 - City", "Address 1 - PO Box", "Address 1 - Region", "Address 1 - Postal Code",
         "Address 1 - Country", "Address 1 - Extended Address", "Address 2 - Type", "Address 2 - Street",
         "Address 2 - City"],
        "contacts",
    )  # fmt: skip
    assert got["Address 1 - Street"] == got["Address 1 - Extended Address"] == "street"
    assert got["Address 1 - Formatted"] == "address"
    assert (got["Address 1 - City"], got["Address 1 - Region"]) == ("city", "region")
    assert (got["Address 1 - Postal Code"], got["Address 1 - Country"]) == ("postcode", "country")
    assert got["Address 1 - Label"] is None and got["Address 2 - Type"] is None
    assert got["Address 1 - PO Box"] == "custom.address_1_po_box"
    assert got["Address 2 - City"] == "custom.address_2_city"


def test_home_address_when_there_is_no_business_one() -> None:
    got = mapped(["First Name", "Home Street", "Home City", "Other City"], "contacts")
    assert got == {"First Name": "first_name", "Home Street": "street", "Home City": "city",
                   "Other City": "custom.other_city"}  # fmt: skip


def test_a_second_column_for_a_one_value_field_becomes_a_custom_field() -> None:
    got = mapped(["Full Name", "Display Name", "Email", "Website", "Web Page"], "contacts")
    assert got["Full Name"] == "name" and got["Display Name"] == "custom.display_name"
    assert got["Website"] == "website" and got["Web Page"] == "custom.web_page"


@pytest.mark.parametrize(
    "header",
    ["Other Country/Region", "Assistant's Phone", "Spalte1", "E-Mail: Typ (alt)", "Kosten (€)", "#", "???", "1",
     "id", "name", "custom", "Straße privat", "Ünïcödé ✓ key", "a" * 300, "phone\nnumber", "Cấp bậc", "x.y.z"],
)  # fmt: skip
def test_a_header_nobody_knows_becomes_a_valid_custom_key(header: str) -> None:
    m = map_headers(["Email", header], "contacts")
    column = m.columns[1]
    assert column is None or column in FIELDS["contacts"] or column.startswith("custom.")
    assert_valid(m.columns)


def test_unknown_ignore_keeps_no_custom_fields() -> None:
    m = map_headers(["Email", "Business Country/Region", "Other Country/Region", "Hobby"], "contacts", unknown="ignore")
    assert m.columns == ["emails", "country", None, None]
    assert m.unknown == ["Other Country/Region", "Hobby"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=12), st.sampled_from(KINDS))
def test_map_headers_never_raises_and_every_custom_key_is_valid(headers: list[str], kind: str) -> None:
    m = map_headers(headers, kind)
    assert len(m.columns) == len(headers)
    for column in m.columns:
        assert column is None or column in FIELDS[kind] or column.startswith("custom.")
    assert_valid([c for c in m.columns if c and c.startswith("custom.") and not c[7:].startswith("custom")])
    assert isinstance(guess_kind(headers), str)


def test_map_overrides_win_and_are_checked() -> None:
    m = map_headers(["Nome completo", "Cellulare"], "contacts", {"Nome completo": "name", "cellulare": "ignore"})
    assert m.columns == ["name", None]
    with pytest.raises(Exception, match="no field 'phone'"):
        map_headers(["Cellulare"], "contacts", {"Cellulare": "phone"})
    with pytest.raises(Exception, match="does not have"):
        map_headers(["Cellulare"], "contacts", {"Telefono": "phones"})
    # a --map target beats the shape rules
    assert map_headers(["Name", "Surname"], "contacts", {"Name": "name"}).columns == ["name", "last_name"]


# ---------------------------------------------------------------- references and ids


def test_salesforce_opportunities_account_id_is_the_company_not_the_deal() -> None:
    got = mapped(["ID", "ACCOUNTID", "CONTACTID", "NAME", "STAGENAME", "ISWON", "ISCLOSED", "CLOSEDATE", "AMOUNT",
                  "OWNERID", "CREATEDDATE", "PROBABILITY", "LEADSOURCE"])  # fmt: skip
    assert got == {
        "ID": "external_id", "ACCOUNTID": "company_ref", "CONTACTID": "contact_ref", "NAME": "title",
        "STAGENAME": "stage", "ISWON": "is_won", "ISCLOSED": "is_closed", "CLOSEDATE": "close_date",
        "AMOUNT": "amount", "OWNERID": "owner", "CREATEDDATE": "created_at", "PROBABILITY": "probability",
        "LEADSOURCE": "source",
    }  # fmt: skip


SALESFORCE = {
    "companies": ["ID", "NAME", "TYPE", "PARENTID", "BILLINGSTREET", "BILLINGCITY", "PHONE", "WEBSITE", "INDUSTRY",
                  "ANNUALREVENUE", "NUMBEROFEMPLOYEES", "OWNERID", "CREATEDDATE"],
    "contacts": ["ID", "ACCOUNTID", "LASTNAME", "FIRSTNAME", "SALUTATION", "NAME", "MAILINGSTREET", "MAILINGCITY",
                 "MAILINGSTATE", "MAILINGPOSTALCODE", "MAILINGCOUNTRY", "OTHERSTREET", "PHONE", "MOBILEPHONE",
                 "HOMEPHONE", "ASSISTANTPHONE", "EMAIL", "TITLE", "DEPARTMENT", "LEADSOURCE", "BIRTHDATE",
                 "REPORTSTOID", "OWNERID", "CREATEDDATE", "HASOPTEDOUTOFEMAIL"],
    "leads": ["ID", "LASTNAME", "FIRSTNAME", "NAME", "TITLE", "COMPANY", "STREET", "CITY", "STATE", "POSTALCODE",
              "COUNTRY", "PHONE", "MOBILEPHONE", "EMAIL", "WEBSITE", "LEADSOURCE", "STATUS", "INDUSTRY",
              "ANNUALREVENUE", "NUMBEROFEMPLOYEES", "OWNERID", "ISCONVERTED", "CONVERTEDACCOUNTID",
              "CONVERTEDCONTACTID", "CREATEDDATE"],
    "tasks": ["ID", "WHOID", "WHATID", "ACCOUNTID", "SUBJECT", "ACTIVITYDATE", "STATUS", "PRIORITY", "OWNERID",
              "DESCRIPTION", "TYPE", "TASKSUBTYPE", "CREATEDDATE"],
}  # fmt: skip


def test_salesforce_kinds_are_guessed() -> None:
    assert guess_kind(SALESFORCE["companies"]) == "companies"
    assert guess_kind(SALESFORCE["contacts"]) == "contacts"
    assert guess_kind(SALESFORCE["leads"]) == "contacts"
    assert guess_kind(SALESFORCE["tasks"]) == "activities"


def test_salesforce_contacts_leads_accounts_and_tasks() -> None:
    contact = mapped(SALESFORCE["contacts"], "contacts")
    assert contact["ID"] == "external_id" and contact["ACCOUNTID"] == "company_ref"
    assert contact["SALUTATION"] == "prefix" and contact["NAME"] == "name" and contact["BIRTHDATE"] == "birthday"
    assert contact["MAILINGSTREET"] == "street" and contact["MAILINGPOSTALCODE"] == "postcode"
    assert contact["OTHERSTREET"] == "custom.otherstreet" and contact["ASSISTANTPHONE"] == "custom.assistantphone"
    assert contact["EMAIL"] == "emails" and contact["HASOPTEDOUTOFEMAIL"] is None
    assert contact["REPORTSTOID"] == "custom.reportstoid"
    lead = mapped(SALESFORCE["leads"], "contacts")
    assert lead["ID"] == "external_id" and lead["COMPANY"] == "company" and lead["STREET"] == "street"
    assert lead["CONVERTEDACCOUNTID"] == "company_ref"
    assert lead["CONVERTEDCONTACTID"] == "custom.convertedcontactid"  # another contact, not this lead's id
    account = mapped(SALESFORCE["companies"], "companies")
    assert account["ID"] == "external_id" and account["INDUSTRY"] == "industry" and account["BILLINGCITY"] == "city"
    assert account["PARENTID"] == "custom.parentid"
    task = mapped(SALESFORCE["tasks"], "activities")
    assert task["ID"] == "source_id" and task["WHOID"] == "contact_ref" and task["WHATID"] == "deal_ref"
    assert task["ACCOUNTID"] == "company_ref" and task["SUBJECT"] == "text" and task["ACTIVITYDATE"] == "at"


@pytest.mark.parametrize(
    ("kind", "header", "field"),
    [
        ("contacts", "Associated Company ID", "company_ref"),
        ("contacts", "Primary Associated Company ID", "company_ref"),
        ("contacts", "Record ID", "external_id"),
        ("contacts", "Contact ID", "external_id"),
        ("contacts", "Person - ID", "external_id"),
        ("contacts", "Person - Organization ID", "company_ref"),
        ("contacts", "Organization ID", "company_ref"),
        ("contacts", "Organization - Name", "company"),
        ("contacts", "Account_Name.id", "company_ref"),
        ("contacts", "company_id", "company_ref"),
        ("contacts", "Deal ID", None),
        ("deals", "Deal - ID", "external_id"),
        ("deals", "Deal - Person ID", "contact_ref"),
        ("deals", "Deal - Organization ID", "company_ref"),
        ("deals", "Deal - Title", "title"),
        ("deals", "Person - Name", "contact"),
        ("deals", "Associated Company IDs", "company_ref"),
        ("deals", "Contact_Name.id", "contact_ref"),
        ("deals", "Record ID", "external_id"),
        ("deals", "Opportunity ID", "external_id"),
        ("companies", "Company ID", "external_id"),
        ("companies", "Organization - ID", "external_id"),
        ("companies", "Contact ID", None),
        ("activities", "Deal ID", "deal_ref"),
        ("activities", "Contact ID", "contact_ref"),
        ("activities", "ID", "source_id"),
        ("followups", "deal_id", "deal_ref"),
        ("followups", "id", "source_id"),
    ],
)
def test_own_ids_and_references(kind: str, header: str, field: str | None) -> None:
    assert field_for(kind, header) == field


def test_pipedrive_deals() -> None:
    got = mapped(["Deal - ID", "Deal - Title", "Deal - Value", "Deal - Stage", "Deal - Person", "Deal - Person ID",
                  "Deal - Organization", "Deal - Organization ID", "Deal - Won time", "Deal - Lost time",
                  "Deal - Update time"])  # fmt: skip
    assert got == {
        "Deal - ID": "external_id", "Deal - Title": "title", "Deal - Value": "amount", "Deal - Stage": "stage",
        "Deal - Person": "contact", "Deal - Person ID": "contact_ref", "Deal - Organization": "company",
        "Deal - Organization ID": "company_ref", "Deal - Won time": "closed_at", "Deal - Lost time": "closed_at",
        "Deal - Update time": None,
    }  # fmt: skip


def test_only_one_column_is_the_own_id() -> None:
    got = mapped(["Id", "Contact ID", "Email"], "contacts")
    assert got["Id"] == "external_id" and got["Contact ID"] == "custom.contact_id"


# ---------------------------------------------------------------- guessing the kind


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        (HEADERS["followups"], "followups"),
        (HEADERS["activities"], "activities"),
        (HEADERS["deals"], "deals"),
        (HEADERS["companies"], "companies"),
        (HEADERS["contacts"], "contacts"),
        (["Deal - Title", "Deal - Value", "Deal - Stage", "Deal - Person ID"], "deals"),
        (["Record ID", "Deal Name", "Deal Stage", "Close Date", "Amount", "Associated Company IDs"], "deals"),
        (["Ragione sociale", "Partita IVA", "Città", "Email"], "companies"),
        (["Company name", "Company Domain Name", "Industry"], "companies"),
        (["First Name", "Last Name", "Company name", "Industry"], "contacts"),
        (["Nome", "Cognome", "Email", "Partita IVA"], "contacts"),
        (["Mailing Street", "Mailing City", "Account Name", "Website"], "companies"),
    ],
)
def test_guess_kind(headers: list[str], kind: str) -> None:
    assert guess_kind(headers) == kind


# ---------------------------------------------------------------- crm's own export

OWN = {
    "contacts": {"id": "source_id", "company_id": "company_ref", "email": "emails", "emails": "emails",
                 "phone": "phones", "phones": "phones", "last_touch": None, "updated_at": None,
                 "external_id": "external_id", "created_at": "created_at", "name": "name", "company": "company"},
    "companies": {"id": "source_id", "people": None, "last_touch": None, "updated_at": None, "name": "name",
                  "domain": "domain", "website": "website", "phone": "phone"},
    "deals": {"id": "source_id", "contact_id": "contact_ref", "company_id": "company_ref", "weighted": None,
              "days_in_stage": None, "stalled": None, "updated_at": None, "closed_at": "closed_at",
              "probability": "probability", "status": "status", "close_date": "close_date", "contact": "contact",
              "company": "company", "lost_reason": "lost_reason", "title": "title", "amount": "amount"},
    "activities": {"id": "source_id", "contact_id": "contact_ref", "company_id": "company_ref",
                   "deal_id": "deal_ref", "at": "at", "type": "type", "text": "text", "by": "by",
                   "contact": "contact", "company": "company", "deal": "deal"},
    "followups": {"id": "source_id", "kind": "kind", "due_at": "due_at", "relative": None, "status": None,
                  "subject_kind": "subject_kind", "subject": "subject", "note": "note", "owner": "owner",
                  "every": "every", "from_done": "from_done", "origin": "origin", "contact_id": "contact_ref",
                  "company_id": "company_ref", "deal_id": "deal_ref", "uid": "uid", "done_at": "done_at",
                  "created_at": "created_at", "updated_at": None},
}  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_own_export_headers_map_back(kind: str) -> None:
    headers = [*HEADERS[kind], "custom.industry"] if kind in ("contacts", "companies", "deals") else HEADERS[kind]
    m = map_headers(headers, kind)
    assert m.own_export
    got = dict(zip(headers, m.columns, strict=True))
    assert {h: got[h] for h in OWN[kind] if h in got} == {h: f for h, f in OWN[kind].items() if h in got}
    for header, column in got.items():  # every column of crm's own export is a field, ignored or its custom field
        assert column is None or column in FIELDS[kind] or column == f"custom.{header[7:]}", header
    assert not m.unknown


def test_own_export_typed_custom_fields() -> None:
    m = map_headers(
        ["id", "name", "external_id", "created_at", "updated_at", "custom.industry:choice(SaaS|Retail|Big Co)",
         "custom.score:number", "custom.vip:bool", "custom.since:date", "custom.note"],
        "contacts",
    )  # fmt: skip
    assert m.columns[5:] == ["custom.industry", "custom.score", "custom.vip", "custom.since", "custom.note"]
    assert m.types == {"industry": ("choice", ["SaaS", "Retail", "Big Co"]), "score": ("number", []),
                       "vip": ("bool", []), "since": ("date", [])}  # fmt: skip


def test_a_custom_header_keeps_its_key_even_when_it_is_a_field_name() -> None:
    m = map_headers(["Name", "custom.industry", "custom.city:text"], "companies")
    assert m.columns == ["name", "custom.industry", "custom.city"]


# ---------------------------------------------------------------- when nothing is recognised


def test_explain_unmapped_names_the_columns_and_shows_a_map_example() -> None:
    m = map_headers(["Nome e cognome del cliente", "Recapito", "Città"], "contacts")
    note = explain_unmapped(m)
    assert "Nome e cognome del cliente" in note and "Recapito" in note
    assert "a name, an email or a phone" in note
    assert "Città → city" in note
    # the example is the hint, in the terms of the call (mapping=); the command line says --map
    assert note.hint is not None and note.hint.keywords == ("mapping",) and "--" not in note
    text = note.hint.line(note, option_of)
    assert 'For example: --map "Nome e cognome del cliente=name" --map "Recapito=phones"' in text
    assert "need a name, an email or a phone: say which columns hold them with --map." in text


@pytest.mark.parametrize("kind", KINDS)
def test_explain_unmapped_for_every_kind(kind: str) -> None:
    note = explain_unmapped(map_headers(["Spalte A", 'Quote "x"'], kind))
    assert note.hint is not None
    text = note.hint.line(note, option_of)
    assert "Spalte A" in text and '--map "Spalte A=' in text
    assert '--map \'Quote "x"=' in text


def test_field_for_is_pure_and_header_key_folds() -> None:
    assert header_key("\ufeffE-Mail 2: Adresse") == "email2adresse"
    assert field_for("contacts", "E-Mail 2: Adresse") == field_for("contacts", "E-Mail 2: Adresse") == "emails"
    assert field_for("contacts", "custom.industry") is None
    assert field_for("contacts", "E-mail Type") == IGNORE
