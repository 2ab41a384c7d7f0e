//! Person-name detection for `redact`: names are only recognised next to a
//! cue (salutation, self-introduction, signature closing, kinship word or a
//! following birth date), because a capitalised word alone is far more often
//! a German noun than a name.

use super::patterns::{char_at, re};
use super::{Finding, PiiKind, push};
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

static SALUTATION: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(?:Herrn?|Frau|Hr\.|Fr\.|Mr\.?|Mrs\.?|Ms\.?|Miss|Mister)[ \u{a0}]+"));
static FAMILY: LazyLock<Regex> = LazyLock::new(|| re(r"\b(?:Familie|Fam\.)[ \u{a0}]*"));
static MAIDEN: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(?:geb\.|geborene|geborener|née)[ \u{a0}]+"));
static KIN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:Tochter|Sohn|Mann|Ehemann|Ehefrau|Mutter|Vater|Bruder|Schwester|Enkel|Enkelin|Oma|Opa|Nachbar|Nachbarin|Kind|Pflegekind|Lebensgefährte|Lebensgefährtin|Partner|Partnerin|husband|wife|son|daughter|brother|sister|mother|father)[ \u{a0}]+",
    )
});
static GREETING: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(?:Hallo|Liebe|Lieber|Dear|Hi|Hey|Moin|Servus)[ \u{a0}]+"));
static INTRO: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:mein name ist|ich heiße|ich heisse|my name is|name:|vorname:|nachname:|familienname:|antragsteller(?:in)?:|ansprechpartner(?:in)?:|kontoinhaber(?:in)?:|fahrzeughalter(?:in)?:|absender:|nazywam się|benim adım)[ \u{a0}]*",
    )
});
static CLOSING: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\b(?:[Mm]it (?:freundlichen|freundlichem|besten|herzlichen|lieben|vielen) |(?:Freundliche|Viele|Liebe|Beste|Herzliche|Schöne|Sonnige) )?(?:Grüßen|Grüssen|Grüße|Grüsse|Gruß|Gruss)\b|\bHochachtungsvoll\b|(?m:^)[ \t]*(?:MfG|LG|VG)\b|\b(?:Best|Kind|Warm) regards\b|\bRegards\b|\bBest wishes\b|\b(?:Yours )?(?:[Ss]incerely|faithfully)\b|\bCheers\b|\b(?:Vielen )?Dank(?:e)?\b|\bThanks\b)[ \t]*[,!.]?[ \t]*(?:\r?\n[ \t]*)*",
    )
});
/// Words between a closing and the signer's name ("Ihre", "i. A.").
static SIGNATURE_LEAD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:Ihre?|Dein|Deine|Euer|Eure|Yours|i\. ?A\.|i\. ?V\.|Im Auftrag|In Vertretung)[ \t]*(?:\r?\n[ \t]*)*",
    )
});
static TITLE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:Dr\.-Ing\.|Dr\.|Prof\.|Dipl\.-[\p{L}]+\.?|med\.|dent\.|rer\. ?nat\.|jur\.|h\. ?c\.|Ing\.|Mag\.)[ \u{a0}]*",
    )
});
/// One name token, optionally preceded by nobiliary particles.
static NAME_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:(?:von|van|de|der|den|zu|vom|ten|ter|di|da|del|la|le|du|dos|af|al)[ \u{a0}])*(\p{Lu}\.|\p{Lu}(?:['’]\p{Lu})?[\p{Ll}'’]+(?:\p{Lu}\p{Ll}+)?(?:-\p{Lu}[\p{Ll}'’]+)*)",
    )
});
/// "Max Mustermann, geb. …" — a name announced by a following birth cue.
static NAME_BEFORE_BIRTH: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(\p{Lu}[\p{L}\-]+(?:[ ](?:(?:von|van|de|zu|der)[ ])*\p{Lu}[\p{L}\-]+){1,3})[ ]*(?:,|\()[ ]*(?:geb\.|geboren|\*)",
    )
});

/// Capitalised words that end a name: pronouns, function words, months,
/// institutions and letter vocabulary.
const STOPWORDS: &str = "\
    sie ihr ihre ihnen ihren ihrem ihres ich wir er es und oder der die das den dem des ein \
    eine mit von bitte danke vielen dank hallo guten tag morgen abend heute gestern leider \
    mein meine unser unsere herr herrn frau familie fam im am an auf in zu zum zur bei beim \
    nach vor aus für über wegen seit anfang ende montag dienstag mittwoch donnerstag freitag \
    samstag sonntag januar februar märz april mai juni juli august september oktober november \
    dezember landkreis landratsamt kreisverwaltung stadt gemeinde amt team abteilung \
    bürgerbüro bürgeramt verwaltung kundenservice vorstand geschäftsführung hausverwaltung \
    anlage anlagen tel telefon mail email hinweis betreff aktenzeichen the i we my thanks \
    thank sir madam dear kreis sehr geehrte geehrter damen herren gruß grüße mfg lg vg ps wie \
    was wann wo warum welche welcher können könnten";

/// Roles that sit between a salutation and the surname ("Frau Bürgermeisterin
/// Schulz"); skipped like academic titles, never redacted themselves.
const ROLES: &str = "\
    bürgermeister bürgermeisterin oberbürgermeister oberbürgermeisterin landrat landrätin \
    präsident präsidentin doktor professor professorin kollege kollegin minister ministerin \
    direktor direktorin pfarrer pfarrerin vorsitzender vorsitzende sachbearbeiter \
    sachbearbeiterin amtsleiter amtsleiterin rechtsanwalt rechtsanwältin anwalt anwältin ober \
    nachbar nachbarin abgeordneter abgeordnete dezernent dezernentin beigeordneter \
    beigeordnete ortsvorsteher ortsvorsteherin amtsdirektor amtsdirektorin schiedsmann \
    schiedsfrau";

/// Common given names; a second capitalised word after a salutation is only
/// taken as part of the name when the first one is a known given name, which
/// keeps nouns out of "Herrn Müller Bescheid geben".
const GIVEN_NAMES: &str = "\
    anna andrea angelika anja anke annette antje barbara bettina birgit brigitte carina carola \
    christa christiane christina claudia cornelia dagmar daniela doris dorothea elke elena \
    elisabeth emma emilia erika eva franziska frieda gabriele gerda gisela gudrun hanna hannah \
    heike helga ilse ines ingrid irene iris jana jasmin jessica johanna julia juliane jutta \
    karin katharina kathrin katja kerstin kirsten klara lara laura lea lena lisa luise maja \
    manuela maria marie marina marion marta martina melanie mia michaela monika nadine nicole \
    nina paula petra renate rita ronja rosemarie ruth sabine sandra sara sarah silke simone \
    sofia sophie stefanie susanne sylvia tanja ulrike ursula ute vanessa vera veronika \
    waltraud yvonne alexander andreas anton axel benjamin bernd björn christian christoph \
    daniel david dennis detlef dieter dirk emil erik felix finn florian frank friedrich georg \
    gerhard günter hans harald heinz helmut henrik holger horst ingo jakob jan jens jörg \
    johannes jonas josef jürgen kai karl klaus konrad lars leon lukas lutz manfred marcel \
    marco mario markus martin matthias max maximilian michael niklas norbert olaf oliver \
    patrick paul peter philipp rainer ralf reinhard robert roland rolf rüdiger sebastian \
    siegfried simon stefan steffen sven thomas thorsten tim tobias tom torsten udo uwe volker \
    walter werner wolfgang ayşe fatma emine mehmet mustafa ahmet ali ahmad mohammed mohammad \
    omar yusuf olena oksana iryna natalia tetiana olga svetlana andrii oleksandr dmytro sergei \
    ivan piotr paweł krzysztof tomasz katarzyna agnieszka john jane james mary linda william \
    elizabeth jennifer richard susan joseph emily noah ben elias luca luka henry theo matteo \
    liam oskar mats milan moritz julian fabian kevin justin marvin nico dominik sophia lina \
    mila ella clara leni lia marlene ida frida charlotte amelie luisa greta mathilda leonie \
    annika jule pia nele merle svenja sabrina carolin christine heidi hildegard irmgard \
    margarete elfriede gertrud ingeborg inge edith erna käthe lieselotte marianne bärbel \
    wilhelm heinrich otto ernst kurt fritz herbert hermann günther gunter willi erich alfred \
    rudolf bruno egon lothar joachim hartmut eckhard ulrich gerd heiko maik mike ronny enrico \
    mandy peggy nancy cindy ramona doreen ahmed hassan hussein mahmoud khaled amir reza leyla \
    zeynep elif emre murat hakan aleksandra anastasia viktor vladimir maksym yulia daria \
    mariia andrzej marek jakub agata magdalena ewa george charles matthew anthony steven \
    andrew joshua olivia isabella amelia jack harry jacob lucas";

static STOPWORD_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| STOPWORDS.split_whitespace().collect());
static ROLE_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| ROLES.split_whitespace().collect());
static GIVEN_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| GIVEN_NAMES.split_whitespace().collect());

fn is_stopword(token: &str) -> bool {
    let lower = token.to_lowercase();
    STOPWORD_SET.contains(lower.as_str()) || ROLE_SET.contains(lower.as_str())
}

fn is_role(token: &str) -> bool {
    ROLE_SET.contains(token.to_lowercase().as_str())
}

fn is_given_name(token: &str) -> bool {
    let first = token.split('-').next().unwrap_or(token);
    let is_initial = token.len() <= 3 && token.ends_with('.');
    is_initial || GIVEN_SET.contains(first.to_lowercase().as_str())
}

/// How far a name may extend from its cue.
#[derive(Clone, Copy)]
struct NameRule {
    max_tokens: usize,
    /// The first token must be a known given name (weak cues like "Sohn").
    first_given: bool,
    /// Further tokens only when the first is a given name or an initial.
    extend_after_given: bool,
}

const SALUTATION_RULE: NameRule = NameRule {
    max_tokens: 3,
    first_given: false,
    extend_after_given: true,
};
const SINGLE_RULE: NameRule = NameRule {
    max_tokens: 1,
    first_given: false,
    extend_after_given: true,
};
const KIN_RULE: NameRule = NameRule {
    max_tokens: 2,
    first_given: true,
    extend_after_given: true,
};
const FREE_RULE: NameRule = NameRule {
    max_tokens: 3,
    first_given: false,
    extend_after_given: false,
};

pub(super) fn detect_names(text: &str, out: &mut Vec<Finding>) {
    let anchored: [(&regex::Regex, NameRule); 6] = [
        (&SALUTATION, SALUTATION_RULE),
        (&FAMILY, SINGLE_RULE),
        (&MAIDEN, SINGLE_RULE),
        (&KIN, KIN_RULE),
        (&GREETING, KIN_RULE),
        (&INTRO, FREE_RULE),
    ];
    for (re, rule) in anchored {
        for m in re.find_iter(text) {
            if let Some((s, e)) = scan_name(text, m.end(), rule) {
                push(out, PiiKind::Name, s, e);
            }
        }
    }
    for m in CLOSING.find_iter(text) {
        let lead = SIGNATURE_LEAD.find(&text[m.end()..]).map_or(0, |l| l.end());
        // "LG Cottbus" is a court, "LG Tom" a greeting; "Danke Bürgeramt" thanks
        // an office. Such weak closings only count when the signature is on
        // its own line or a given name follows.
        let abbreviation = matches!(
            m.as_str()
                .trim_end_matches([' ', '\t', ',', '!', '.'])
                .trim(),
            "LG" | "VG" | "MfG" | "Danke" | "Dank" | "Vielen Dank" | "Thanks" | "Cheers"
        );
        let rule = if abbreviation && !m.as_str().contains('\n') {
            KIN_RULE
        } else {
            FREE_RULE
        };
        if let Some((s, e)) = scan_name(text, m.end() + lead, rule) {
            push(out, PiiKind::Name, s, e);
        }
    }
    for c in NAME_BEFORE_BIRTH.captures_iter(text) {
        let Some(g) = c.get(1) else { continue };
        // The match may start at a preceding noun ("Antragstellerin Petra …");
        // the name begins at the first known given name.
        let mut offset = 0;
        for word in g.as_str().split(' ') {
            if is_given_name(word) && !is_stopword(word) {
                let rest = &g.as_str()[offset..];
                let mut capitalised = rest
                    .split(' ')
                    .filter(|w| w.starts_with(char::is_uppercase));
                if rest.contains(' ') && !capitalised.any(is_stopword) {
                    push(out, PiiKind::Name, g.start() + offset, g.end());
                }
                break;
            }
            offset += word.len() + 1;
        }
    }
}

/// Collects capitalised name tokens starting at `pos`, stopping at line
/// ends, stop words and anything that is not a single space apart.
fn scan_name(text: &str, pos: usize, rule: NameRule) -> Option<(usize, usize)> {
    let mut i = pos;
    loop {
        if let Some(t) = TITLE.find(&text[i..]) {
            i += t.end();
        } else if let Some(role) = NAME_TOKEN
            .captures(&text[i..])
            .and_then(|c| c.get(1))
            .filter(|r| is_role(r.as_str()))
        {
            // Only skip the role when a name follows it on the same line.
            let after = i + role.end();
            if char_at(text, after) != Some(' ') {
                return None;
            }
            i = after + 1;
        } else {
            break;
        }
    }
    let start = i;
    let mut end = None;
    let mut first_is_given = false;
    for n in 0..rule.max_tokens {
        let Some(c) = NAME_TOKEN.captures(&text[i..]) else {
            break;
        };
        let (Some(all), Some(tok)) = (c.get(0), c.get(1)) else {
            break;
        };
        let token = tok.as_str();
        let tok_end = i + all.end();
        if is_stopword(token) || char_at(text, tok_end).is_some_and(|c| c.is_alphanumeric()) {
            break;
        }
        if n == 0 {
            first_is_given = is_given_name(token);
            if rule.first_given && !first_is_given {
                return None;
            }
        } else if rule.extend_after_given && !first_is_given {
            break;
        }
        end = Some(tok_end);
        i = tok_end;
        match char_at(text, i) {
            Some(c @ (' ' | '\u{a0}')) => i += c.len_utf8(),
            _ => break,
        }
    }
    end.map(|e| (start, e))
}

#[cfg(test)]
mod tests {
    use super::super::redact;

    fn r(s: &str) -> String {
        redact(s).text
    }

    #[test]
    fn second_token_needs_a_given_name() {
        assert_eq!(
            r("Herrn Müller Bescheid geben"),
            "Herrn [NAME] Bescheid geben"
        );
        assert_eq!(r("Frau Dr. Anna Schmidt"), "Frau Dr. [NAME]");
        assert_eq!(r("mein Sohn Bescheid"), "mein Sohn Bescheid");
    }

    #[test]
    fn roles_titles_and_particles() {
        assert_eq!(
            r("Sehr geehrter Herr Landrat,"),
            "Sehr geehrter Herr Landrat,"
        );
        assert_eq!(
            r("Frau Bürgermeisterin Schulz"),
            "Frau Bürgermeisterin [NAME]"
        );
        assert_eq!(r("Frau von der Heide,"), "Frau [NAME],");
        assert_eq!(
            r("Anna von Bredow, geb. 1.2.1950"),
            "[NAME], geb. [BIRTHDATE]"
        );
    }

    #[test]
    fn signatures() {
        assert_eq!(r("Gruß\nFamilie Neumann"), "Gruß\nFamilie [NAME]");
        assert_eq!(
            r("MfG\n\ni. A. Petra Müller\nAmt"),
            "MfG\n\ni. A. [NAME]\nAmt"
        );
        assert_eq!(r("LG Cottbus, Az. 3 O 12/24"), "LG Cottbus, Az. 3 O 12/24");
        assert_eq!(r("LG Tom"), "LG [NAME]");
        assert_eq!(r("Viele Grüße aus Burg"), "Viele Grüße aus Burg");
    }
}
