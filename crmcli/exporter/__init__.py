"""Files crm writes for other programs: records (CSV, JSON, vCard), workbooks, iCalendar."""
