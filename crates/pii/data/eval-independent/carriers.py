# -*- coding: utf-8 -*-
"""Carrier texts with slots for the independent evaluation corpus.

Written by hand. Slot syntax is documented at the top of make_corpus.py.
Every carrier contains at least one decoy slot (⟦d....⟧). Carriers marked
clean=True contain no personal data and no secrets at all.
"""

_ALL = []


def C(lang, kind, text, clean=False, country=None, name=None):
    c = {"lang": lang, "kind": kind, "text": text.strip("\n"), "clean": clean, "country": country}
    c["name"] = name or f"{lang}-{kind}-{len([x for x in _ALL if x['lang'] == lang]) + 1:02d}"
    _ALL.append(c)
    return c


# ---------------------------------------------------------------------------
# localized phrases for developer messages (⟦L:key⟧)
# ---------------------------------------------------------------------------
PHRASES = {
    "ask_fail": {
        "en": ["Why does this fail on startup?", "can someone tell me why this isn't working", "This worked yesterday, now it doesn't. Any idea?"],
        "de": ["Warum schlägt das beim Start fehl?", "kann mir jemand sagen warum das nicht geht", "Gestern ging's noch, heute nicht mehr. Jemand eine Idee?"],
        "fr": ["Pourquoi ça plante au démarrage ?", "quelqu'un sait pourquoi ça marche pas ?", "Ça marchait hier, plus aujourd'hui. Une idée ?"],
        "es": ["¿Por qué falla al arrancar?", "alguien sabe por qué no funciona esto", "Ayer funcionaba y hoy no. ¿Alguna idea?"],
        "it": ["Perché fallisce all'avvio?", "qualcuno sa perché non funziona?", "Ieri andava, oggi no. Idee?"],
        "nl": ["Waarom faalt dit bij het opstarten?", "weet iemand waarom dit niet werkt?", "Gisteren werkte het nog, nu niet meer. Iemand een idee?"],
        "pt": ["Porque é que isto falha ao arrancar?", "alguém sabe por que isso não funciona?", "Ontem funcionava, hoje não. Alguma ideia?"],
    },
    "ask_review": {
        "en": ["Can you review this config before I deploy it?", "pls sanity check this before I push", "Is this setup OK for production?"],
        "de": ["Kannst du dir die Konfiguration anschauen, bevor ich deploye?", "bitte kurz drüberschauen bevor ich pushe", "Passt das so für Produktion?"],
        "fr": ["Tu peux relire cette config avant que je déploie ?", "petite relecture avant que je push stp", "C'est bon pour la prod comme ça ?"],
        "es": ["¿Puedes revisar esta configuración antes de desplegar?", "échale un ojo antes de hacer push porfa", "¿Está bien así para producción?"],
        "it": ["Puoi controllare questa configurazione prima del deploy?", "dai un'occhiata prima che faccio push pls", "Va bene così per la produzione?"],
        "nl": ["Kun je deze config even checken voordat ik deploy?", "even snel naar kijken voor ik push aub", "Is dit zo goed voor productie?"],
        "pt": ["Podes rever esta configuração antes do deploy?", "dá uma olhada antes de eu fazer push pfv", "Está bom assim para produção?"],
    },
    "ask_error": {
        "en": ["I'm getting this error, any idea what's wrong?", "Getting this stack trace after the upgrade:", "help, prod is down:"],
        "de": ["Ich bekomme diesen Fehler, woran liegt das?", "Nach dem Upgrade kommt dieser Stacktrace:", "Hilfe, Prod ist down:"],
        "fr": ["J'ai cette erreur, une idée ?", "Après la mise à jour j'ai cette stack trace :", "au secours, la prod est down :"],
        "es": ["Me sale este error, ¿qué puede ser?", "Después de actualizar me aparece este stack trace:", "socorro, producción caída:"],
        "it": ["Ricevo questo errore, cosa può essere?", "Dopo l'aggiornamento esce questo stack trace:", "aiuto, la produzione è giù:"],
        "nl": ["Ik krijg deze foutmelding, enig idee?", "Na de upgrade krijg ik deze stacktrace:", "help, productie ligt plat:"],
        "pt": ["Estou a receber este erro, alguma ideia?", "Depois do upgrade aparece este stack trace:", "socorro, produção caiu:"],
    },
    "ask_convert": {
        "en": ["Convert this to a docker-compose file please", "can you turn this into a Kubernetes manifest?", "Rewrite this as environment variables for our CI"],
        "de": ["Mach mir daraus bitte eine docker-compose-Datei", "kannst du das in ein Kubernetes-Manifest umbauen?", "Bitte als Umgebungsvariablen für unsere CI umschreiben"],
        "fr": ["Transforme ça en docker-compose stp", "tu peux en faire un manifeste Kubernetes ?", "Réécris ça en variables d'environnement pour la CI"],
        "es": ["Conviértelo en un docker-compose, por favor", "¿puedes pasarlo a un manifiesto de Kubernetes?", "Reescríbelo como variables de entorno para la CI"],
        "it": ["Trasformalo in un docker-compose per favore", "puoi convertirlo in un manifest Kubernetes?", "Riscrivilo come variabili d'ambiente per la CI"],
        "nl": ["Maak hier aub een docker-compose bestand van", "kun je dit omzetten naar een Kubernetes-manifest?", "Herschrijf dit als omgevingsvariabelen voor de CI"],
        "pt": ["Converte isto num docker-compose, por favor", "consegue transformar isso num manifesto Kubernetes?", "Reescreve como variáveis de ambiente para a CI"],
    },
    "ask_explain": {
        "en": ["What does this script do?", "Can you explain this snippet line by line?", "explain what this config does pls"],
        "de": ["Was macht dieses Skript?", "Erklär mir den Code Zeile für Zeile", "was macht diese config genau?"],
        "fr": ["Que fait ce script ?", "Tu peux m'expliquer ce code ligne par ligne ?", "ça fait quoi exactement cette config ?"],
        "es": ["¿Qué hace este script?", "¿Me explicas este código línea a línea?", "qué hace exactamente esta config?"],
        "it": ["Cosa fa questo script?", "Mi spieghi questo codice riga per riga?", "cosa fa esattamente questa config?"],
        "nl": ["Wat doet dit script?", "Kun je deze code regel voor regel uitleggen?", "wat doet deze config precies?"],
        "pt": ["O que faz este script?", "Pode explicar esse código linha a linha?", "o que essa config faz exatamente?"],
    },
    "ask_leak": {
        "en": ["I accidentally pushed this to a public repo. What do I need to rotate?", "oops, this was in a commit for two hours. how bad is it?"],
        "de": ["Ich habe das aus Versehen in ein öffentliches Repo gepusht. Was muss ich rotieren?", "mist, das war zwei Stunden in einem Commit. Wie schlimm ist das?"],
        "fr": ["J'ai poussé ça par erreur sur un dépôt public. Qu'est-ce que je dois révoquer ?", "oups, c'est resté deux heures dans un commit. C'est grave ?"],
        "es": ["Subí esto sin querer a un repo público. ¿Qué tengo que rotar?", "uf, esto estuvo dos horas en un commit. ¿Es grave?"],
        "it": ["Ho pushato questo per sbaglio su un repo pubblico. Cosa devo ruotare?", "ops, è rimasto due ore in un commit. È grave?"],
        "nl": ["Ik heb dit per ongeluk naar een publieke repo gepusht. Wat moet ik roteren?", "oeps, dit stond twee uur in een commit. Hoe erg is dat?"],
        "pt": ["Fiz push disto sem querer para um repositório público. O que tenho de rodar?", "ops, isso ficou duas horas num commit. É grave?"],
    },
    "c_prod": {
        "en": ["production - do not commit", "prod creds, rotate quarterly"],
        "de": ["Produktion - nicht committen!", "Prod-Zugangsdaten, quartalsweise rotieren"],
        "fr": ["prod - ne pas committer", "identifiants de prod, rotation trimestrielle"],
        "es": ["producción - no commitear", "credenciales de prod, rotar cada trimestre"],
        "it": ["produzione - non committare", "credenziali di prod, ruotare ogni trimestre"],
        "nl": ["productie - niet committen", "prod-gegevens, elk kwartaal roteren"],
        "pt": ["produção - não fazer commit", "credenciais de prod, rodar a cada trimestre"],
    },
    "c_tmp": {
        "en": ["temporary, remove after the demo", "TODO: move to vault"],
        "de": ["nur temporär, nach der Demo löschen", "TODO: in den Vault verschieben"],
        "fr": ["temporaire, à supprimer après la démo", "TODO : déplacer dans le coffre"],
        "es": ["temporal, borrar después de la demo", "TODO: mover al vault"],
        "it": ["temporaneo, da togliere dopo la demo", "TODO: spostare nel vault"],
        "nl": ["tijdelijk, na de demo verwijderen", "TODO: naar de vault verplaatsen"],
        "pt": ["temporário, remover depois da demo", "TODO: mover para o vault"],
    },
    "c_local": {
        "en": ["local dev only", "for my machine only"],
        "de": ["nur lokal", "nur für meinen Rechner"],
        "fr": ["dev local uniquement", "juste pour mon poste"],
        "es": ["solo desarrollo local", "solo para mi equipo"],
        "it": ["solo sviluppo locale", "solo per il mio pc"],
        "nl": ["alleen lokaal", "alleen voor mijn laptop"],
        "pt": ["só desenvolvimento local", "só para a minha máquina"],
    },
    "fyi": {
        "en": ["FYI, here are the settings for the new staging box:", "Here's the config for the new environment:"],
        "de": ["Zur Info, hier die Einstellungen für die neue Staging-Umgebung:", "Hier die Konfiguration für die neue Umgebung:"],
        "fr": ["Pour info, voici les réglages du nouvel environnement de recette :", "Voici la config du nouvel environnement :"],
        "es": ["Para que lo tengáis, esta es la configuración del nuevo entorno de pruebas:", "Aquí va la config del entorno nuevo:"],
        "it": ["Per info, ecco le impostazioni del nuovo ambiente di staging:", "Ecco la config del nuovo ambiente:"],
        "nl": ["Ter info, hier de instellingen voor de nieuwe testomgeving:", "Hierbij de config voor de nieuwe omgeving:"],
        "pt": ["Para informação, seguem as definições do novo ambiente de testes:", "Segue a config do novo ambiente:"],
    },
    "thanks": {
        "en": ["thanks!", "Thanks in advance", "cheers"],
        "de": ["danke!", "Danke im Voraus", "Gruß"],
        "fr": ["merci !", "Merci d'avance", "bonne journée"],
        "es": ["¡gracias!", "Gracias de antemano", "un saludo"],
        "it": ["grazie!", "Grazie in anticipo", "un saluto"],
        "nl": ["dank!", "Alvast bedankt", "groetjes"],
        "pt": ["obrigado!", "Desde já obrigado", "abraço"],
    },
    "ask_clean": {
        "en": ["Is this example config ok to commit?", "Does this look right?", "Why is the build slower since this change?"],
        "de": ["Kann ich die Beispielkonfiguration so committen?", "Sieht das richtig aus?", "Warum ist der Build seit dieser Änderung langsamer?"],
        "fr": ["Je peux committer cet exemple de config ?", "Ça vous paraît correct ?", "Pourquoi le build est plus lent depuis ce changement ?"],
        "es": ["¿Puedo commitear esta config de ejemplo?", "¿Os parece correcto?", "¿Por qué el build va más lento desde este cambio?"],
        "it": ["Posso committare questa config di esempio?", "Vi sembra corretto?", "Perché la build è più lenta da questa modifica?"],
        "nl": ["Kan ik deze voorbeeldconfig zo committen?", "Klopt dit zo?", "Waarom is de build trager sinds deze wijziging?"],
        "pt": ["Posso fazer commit desta config de exemplo?", "Isto parece correto?", "Porque é que o build ficou mais lento com esta alteração?"],
    },
}


# ===========================================================================
# ENGLISH
# ===========================================================================
C("en", "email", """
Subject: Lease renewal – ⟦addr1#a⟧

Dear ⟦p1.hon⟧ ⟦p1.fam⟧,

Thank you for your letter of ⟦d.date/long⟧. I would like to renew the lease for the flat at ⟦addr1#a⟧ for another twelve months, and the new monthly rent of ⟦d.amount⟧ is fine with me.

Could you let me know whether the bathroom repairs (your reference ⟦d.ticket/case⟧) will be done before May? The extractor fan has not worked since January.

Kind regards,
⟦p2.full⟧
⟦phone⟧
""")

C("en", "email", """
Hi ⟦p1.given⟧,

quick one – are you still ok to cover the ⟦d.product⟧ rollout on Monday? ⟦p2.given⟧ is off until ⟦d.date/short⟧ and I don't want ⟦d.ticket/jira⟧ sitting there all week.

Will you have time to go through the checklist with ⟦p3.full⟧ before then? ⟦p3.g:He¦She⟧'s flying in from ⟦city⟧ on ⟦d.flight⟧ and should be in the office around 10.

Cheers,
⟦p4.given⟧

Sent from my ⟦d.product=iPhone⟧
""")

C("en", "email", """
From: ⟦p1.full⟧ <⟦p1.cemail⟧>
To: ⟦p2.full⟧ <⟦p2.email⟧>
Cc: ⟦p3.cemail⟧; ⟦p4.full⟧ <⟦p4.cemail⟧>
Date: ⟦d.date/rfc⟧
Subject: Invoice ⟦d.invoice#i⟧ – overdue

Hi ⟦p2.given⟧,

our accounts team flagged invoice ⟦d.invoice#i⟧ (⟦d.amount⟧) as 45 days overdue. I know the PO was raised late on your side, so no drama, but could you check with ⟦p4.given⟧ whether it's stuck in approval?

Best regards,
⟦p1.full⟧
⟦p1.job⟧, ⟦d.org⟧
Direct: ⟦phone⟧
""")

C("en", "email", """
Thanks, Tuesday morning works for us.

Best,
⟦p1.given⟧

On ⟦d.date/long⟧ at 16:02, ⟦p2.full⟧ <⟦p2.cemail⟧> wrote:
> Hi ⟦p1.given⟧,
>
> the engineer can come by ⟦addr1⟧ between 8 and 12 on Tuesday. Please make sure someone is home and the boiler cupboard is accessible.
>
> Job ref: ⟦d.order⟧
>
> ⟦p2.full⟧
> Field Service Coordinator | ⟦d.org⟧
""")

C("en", "ticket", """
Ticket ⟦d.ticket/case⟧ | Priority: Medium | Channel: Web form
Customer: ⟦p1.full⟧
Email: ⟦p1.email⟧

Message:
Hello, I ordered a ⟦d.model⟧ (order ⟦d.order⟧) and it was delivered to my old address, ⟦addr1⟧, instead of the new one. New address:
⟦addrml⟧

Tracking says "delivered" (⟦d.tracking⟧) but the people at the old place haven't seen it. Can you redirect or resend?

Thanks
""")

C("en", "ticket", """
Number: ⟦d.ticket/inc⟧
Caller: ⟦p1.full⟧ (⟦p1.cemail⟧)
Location: ⟦city⟧ office, ⟦d.room⟧
Assigned to: ⟦p2.full⟧
Short description: Laptop won't boot after ⟦d.product⟧ update ⟦d.version⟧
Description: User reports black screen with error 0xc000000e since ⟦d.date/wd⟧. Asset tag ⟦d.part/plain⟧, model ⟦d.model⟧.
Work notes: Called ⟦p1.given⟧ on ⟦phone⟧, no answer. Will try again tomorrow morning. Mark as pending if no reply by Friday.
""")

C("en", "chat", """
hey can you help me write a message to my landlord ⟦p1.lower⟧, the heating at ⟦addr1|lower⟧ has been broken since ⟦d.date/short⟧ and ⟦p1.g:he¦she⟧ is not answering my calls. i pay ⟦d.amount⟧ a month for this lol. keep it polite but firm, maybe mention i can withold rent?? not sure if thats legal tho
""")

C("en", "chat", """
I'm ⟦p1.full⟧, a registered nurse currently living in ⟦city⟧. I'm applying for a band 6 post and need a cover letter. My experience: 6 years in A&E, 2 years ICU. Put my contact details at the top: ⟦addr1⟧, ⟦phone⟧, ⟦p1.email⟧. Keep it under 300 words. The job reference is ⟦d.ticket/case⟧.
""")

C("en", "chat", """
pls translate into german for me, its for my neighbour:

"Dear ⟦p1.hon⟧ ⟦p1.fam⟧, the parcel for ⟦p2.full⟧ (order ⟦d.order⟧) was left with us at ⟦street⟧. You can pick it up any evening after 6. Regards, ⟦p3.given⟧"

thx!!
""")

C("en", "log", """
⟦d.ts⟧ INFO  auth-service [req=⟦d.uuid⟧] login ok user=⟦p1.email⟧ ip=⟦ip⟧
⟦d.ts⟧ WARN  auth-service [req=⟦d.uuid⟧] password reset requested for ⟦p2.email⟧ from ⟦ip⟧
⟦d.ts⟧ ERROR billing-worker job=⟦d.uuid⟧ failed: HTTP ⟦d.status⟧ from payment gateway (attempt 3/5, ⟦d.duration⟧)
⟦d.ts⟧ INFO  mailer queued welcome email to "⟦p3.full⟧" <⟦p3.email⟧>
""")

C("en", "log", """
⟦d.ts/syslog⟧ web-02 sshd[⟦d.pid⟧]: Accepted publickey for deploy from ⟦ip⟧ port ⟦d.port⟧ ssh2
⟦d.ts/syslog⟧ web-02 sudo:   deploy : TTY=pts/0 ; PWD=/srv/app ; USER=root ; COMMAND=/usr/bin/systemctl restart gunicorn
⟦d.ts/syslog⟧ web-02 app[⟦d.pid⟧]: GET /account/orders 200 ⟦d.duration⟧ user_id=⟦d.cust⟧ name="⟦p1.full⟧" city="⟦city⟧"
⟦d.ts/syslog⟧ web-02 app[⟦d.pid⟧]: POST /checkout ⟦d.status⟧ ⟦d.duration⟧ client=⟦ip⟧
""")

C("en", "csv", """
customer_id,first_name,last_name,email,city,signup_date,plan
⟦d.cust⟧,⟦p1.given⟧,⟦p1.family⟧,⟦p1.email⟧,⟦city⟧,⟦d.date/iso⟧,Pro
⟦d.cust⟧,⟦p2.given⟧,⟦p2.family⟧,⟦p2.email⟧,⟦city⟧,⟦d.date/iso⟧,Free
⟦d.cust⟧,⟦p3.given⟧,⟦p3.family⟧,⟦p3.email⟧,⟦city@any⟧,⟦d.date/iso⟧,Team
⟦d.cust⟧,⟦p4.given⟧,⟦p4.family⟧,⟦p4.email⟧,⟦city⟧,⟦d.date/iso⟧,Pro
""")

C("en", "csv", '''
"Order","Recipient","Address","Phone","Total"
"⟦d.order⟧","⟦p1.full⟧","⟦addr1⟧","⟦phone⟧","⟦d.amount/bare⟧"
"⟦d.order⟧","⟦p2.full⟧","⟦addr1⟧","⟦phone⟧","⟦d.amount/bare⟧"
"⟦d.order⟧","⟦p3.full⟧","⟦addr1@any⟧","⟦phone⟧","⟦d.amount/bare⟧"
''')

C("en", "form", """
NEW PATIENT REGISTRATION
Name: ⟦p1.full⟧
Date of birth: ⟦dob⟧
Address: ⟦addr1⟧
Phone: ⟦phone⟧
Email: ⟦p1.email⟧
Emergency contact: ⟦p2.full⟧ (⟦p2.g:husband¦wife⟧) – ⟦phone⟧
Insurer: ⟦d.org⟧, policy ⟦d.policy⟧
Referred by: Dr ⟦p3.fam⟧
First appointment: ⟦d.date/wd⟧ at ⟦d.time⟧, ⟦d.room⟧
""")

C("en", "form", """
EMPLOYEE ONBOARDING – HR USE ONLY
Legal name: ⟦p1@en.full⟧
Social Security Number: ⟦ssn⟧
Home address: ⟦addr1@us⟧
Start date: ⟦d.date/num⟧
Department: Finance (reports to ⟦p2.full⟧, Controller)
Equipment: ⟦d.model⟧, asset ⟦d.part/plain⟧
Direct deposit: routing ⟦d.routing⟧, account on file
I-9 verified by: ⟦p3.init⟧
""", country="us")

C("en", "notes", """
Weekly sync – ⟦d.date/wd⟧, ⟦d.room⟧
Attendees: ⟦p1.full⟧, ⟦p2.full⟧, ⟦p3.given⟧ (remote, ⟦city⟧), ⟦p4.full⟧
Apologies: ⟦p5.full⟧

1. Q3 roadmap – ⟦d.product⟧ migration slips to June. Mark the dependency on ⟦d.ticket/jira⟧ as blocked.
2. ⟦p2.given⟧ to send the revised budget (⟦d.amount⟧) by Friday.
3. May offsite: shortlist is ⟦city@any⟧ or ⟦city@any⟧; ⟦p4.given⟧ will compare hotel prices.

Actions
- ⟦p1.given⟧: update the risk register
- ⟦p3.given⟧: book ⟦d.room⟧ for the demo
- All: review the ⟦d.version⟧ release notes before Wednesday
""")

C("en", "shipping", """
SHIPPING NOTE ⟦d.order⟧
Carrier: ⟦d.org=UPS⟧ Standard    Tracking: ⟦d.tracking/ups⟧
Parcels: ⟦d.qty⟧    Weight: 4.2 kg

SHIP TO:
⟦p1.full|upper⟧
⟦addrmlc|upper⟧
Tel: ⟦phone⟧

SENDER:
⟦d.org⟧ Fulfilment Centre
⟦addrml⟧

Contents: ⟦d.model⟧ (1), cables (2). Declared value ⟦d.amount⟧.
""")

C("en", "shipping", """
Delivery instructions for order ⟦d.order⟧:
Deliver to ⟦p1.full⟧, ⟦addr1@in⟧. Landmark: opposite the ⟦d.org⟧ showroom. Please call ⟦phone@in⟧ before arriving – security does not allow entry after 9 pm. COD amount ⟦d.amount⟧.
""", country="in")

C("en", "chat", """
Hi! I'm sending a birthday present to my friend ⟦p1.full⟧ in ⟦country@jp⟧. Is this address written correctly for international post?

⟦addrml@jp⟧

Also, what's the cheapest tracked option under ⟦d.amount⟧, and does ⟦d.org⟧ deliver there on Saturdays?
""")

C("en", "email", """
Hi team,

please welcome ⟦p1.full⟧, who joins us as ⟦p1.job⟧ on ⟦d.date/wd⟧. ⟦p1.given⟧ is relocating from ⟦city@any⟧ and will sit in ⟦d.room⟧ next to ⟦p2.given⟧'s team for the first few weeks.

⟦p1.g:His¦Her⟧ onboarding buddy is ⟦p3.full⟧. IT has already prepared a ⟦d.model⟧ (ticket ⟦d.ticket/req⟧).

Lunch on Friday is on us – see you there!
⟦p4.given⟧
""")

C("en", "email", """
Subject: Automatic reply: ⟦d.ticket/jira⟧ follow-up

Thank you for your email. I am out of the office until ⟦d.date/long⟧ with limited access to email. For anything urgent please contact my colleague ⟦p1.full⟧ at ⟦p1.cemail⟧ or call ⟦phone⟧.

⟦p2.full⟧
⟦p2.job⟧ | ⟦d.org⟧
⟦addr1⟧
""")

C("en", "email", """
Hi ⟦p1.given⟧,

as discussed, here are my bank details for the deposit refund:

Account holder: ⟦p2.full⟧
IBAN: ⟦iban⟧
Reference: ⟦d.invoice⟧

The keys were handed back on ⟦d.date/short⟧ and the final meter reading was ⟦d.qty/n⟧ kWh (photo attached).

Many thanks,
⟦p2.given⟧
""")

C("en", "notes", """
Call notes ⟦d.date/num⟧ – ⟦p1.full⟧ (⟦d.org⟧)
- Decision maker is ⟦p2.hon⟧ ⟦p2.fam⟧, CFO, based in ⟦city⟧; ⟦p1.given⟧ reports to ⟦p2.g:him¦her⟧.
- Budget approx. ⟦d.amount⟧, wants a pilot with ⟦d.qty/n⟧ users.
- Currently on ⟦d.product⟧, contract ends in May.
- Follow-up: send quote ⟦d.quote⟧ by Friday. ⟦p1.given⟧'s mobile: ⟦phone⟧
""")

C("en", "email", """
Your trip – booking reference ⟦d.booking⟧

Passenger: ⟦p1.full|upper⟧
Flight: ⟦d.flight⟧, departs ⟦d.date/wd⟧ ⟦d.time⟧, seat 14C
Return: ⟦d.flight⟧, ⟦d.date/wd⟧ ⟦d.time⟧

Hotel: ⟦d.org=Hotel Bellevue⟧
⟦addrmlc@any⟧
Check-in from 15:00. Total paid: ⟦d.amount⟧

Need to make changes? Manage your booking online.
""")

C("en", "email", """
To whom it may concern,

for the third week running the recycling on ⟦street⟧ has not been collected. Several bins are now overflowing and attracting foxes. I reported this on ⟦d.date/short⟧ (reference ⟦d.ticket/case⟧) and was told it would be sorted.

Could someone please confirm when the crew will come?

Yours faithfully,
⟦p1.full⟧
""")

C("en", "email", """
Subject: Data deletion request (GDPR Art. 17)

Hello,

I, ⟦p1.full⟧, born ⟦dob⟧, ask you to delete all personal data you hold about me. My customer number is ⟦d.cust⟧ and the account e-mail is ⟦p1.email⟧. My previous postal address was ⟦addr1⟧.

Please confirm in writing within one month.

⟦p1.full⟧
""")

C("en", "notes", """
Registrations – Data & AI Meetup, ⟦d.date/long⟧, ⟦d.room⟧
1. ⟦p1.full⟧ – ⟦d.org⟧ – vegetarian
2. ⟦p2.full⟧ – freelance, travelling from ⟦city⟧
3. ⟦p3.full⟧ – ⟦d.org⟧
4. ⟦p4.lower⟧ – registered twice, merged (⟦d.uuid⟧)
5. ⟦p5.gFAM⟧ – needs step-free access
Waiting list: ⟦p6.full⟧, ⟦p7.given⟧
""")

C("en", "chat", """
my freind ⟦p1.glower⟧ from ⟦city|lower⟧ is visiting next wekend, whats a good day trip from ⟦region⟧?? ⟦p1.g:he¦she⟧ likes hiking and we'll have a car, budget maybe ⟦d.amount⟧ for the two of us
""")

C("en", "form", """
HOUSEHOLD CONTENTS CLAIM
Policy holder: ⟦p1.full⟧
Policy no.: ⟦d.policy⟧
Insured address: ⟦addr1⟧
Date of incident: ⟦d.date/num⟧
What happened: burst pipe in the kitchen, damaged a ⟦d.model⟧ and the flooring.
Estimated loss: ⟦d.amount⟧
Pay to: ⟦iban⟧
Card used for the excess: ⟦cc⟧
Signed: ⟦p1.full⟧
""")

C("en", "email", """
Hi ⟦p1.given⟧,

great meeting you at the ⟦d.product⟧ user group yesterday! As promised, here's the deck and my details – happy to chat more about the migration.

Best,
⟦p2.full⟧
Product Marketing Manager
⟦p2.url⟧
⟦phone⟧
""")

C("en", "ticket", """
Case ⟦d.ticket/case⟧ – Address change request
Account: ⟦d.cust⟧
Requested by: ⟦p1.full⟧ via phone (⟦phone⟧)
Old address: ⟦addr1⟧
New address: ⟦addr1⟧
Verified: DOB ⟦dob⟧ matches record. Card ending 4421 confirmed.
Agent: ⟦p2.given⟧ (Tier 1)
""")

# ---- English, no personal data -------------------------------------------
C("en", "email", """
Release notes – ⟦d.product⟧ ⟦d.version⟧ (⟦d.date/long⟧)

New
- Export to CSV from the Reports page
- Single sign-on with ⟦d.product⟧
Fixed
- Crash when opening invoices larger than 20 MB (⟦d.ticket/jira⟧)
- Totals showed ⟦d.amount⟧ instead of the net value (⟦d.ticket/jira⟧)

Will this affect existing integrations? No. The public API stays on ⟦d.version⟧ until March.
""", clean=True)

C("en", "notes", """
Ops review – ⟦d.date/wd⟧, ⟦d.room⟧
Present: Finance, Customer Support, Warehouse leads, Head of Sales

- Returns rate in April: ⟦d.percent⟧ (target 3.5%)
- May promotion: budget ⟦d.amount⟧ approved
- Mark every open ticket older than 30 days (e.g. ⟦d.ticket/inc⟧) for review
- Carrier contract with ⟦d.org⟧ renews in June
- Next review: ⟦d.date/short⟧
""", clean=True)

C("en", "shipping", """
Your order ⟦d.order⟧ has shipped!

Items: ⟦d.model⟧ × 1, USB-C cable × 2
Total paid: ⟦d.amount⟧
Carrier: ⟦d.org⟧ – tracking number ⟦d.tracking⟧
Estimated delivery: ⟦d.date/wd⟧

Questions? Reply to this email or visit our Help Centre.
""", clean=True)

C("en", "email", """
Reminder: invoice ⟦d.invoice#i⟧ for ⟦d.amount⟧ was due on ⟦d.date/long⟧.

If you have already paid, please ignore this message. When paying by bank transfer, quote ⟦d.invoice#i⟧ as the reference so our Accounts Receivable team can match it.

Accounts Receivable | ⟦d.org⟧
""", clean=True)

C("en", "log", """
⟦d.ts⟧ cron.INFO nightly-export started job=⟦d.uuid⟧
⟦d.ts⟧ nginx upstream timed out (110: Connection timed out) while reading response header, upstream: "http://app-backend:⟦d.port⟧/api/v2/orders"
⟦d.ts⟧ app.ERROR GET /api/v2/orders -> ⟦d.status⟧ in ⟦d.duration⟧ (build ⟦d.commit/short⟧)
⟦d.ts⟧ cron.INFO nightly-export finished, ⟦d.qty/n⟧ rows, ⟦d.size⟧
""", clean=True)

C("en", "chat", """
whats the difference between ⟦d.product⟧ and ⟦d.product⟧ for a team of ⟦d.qty/n⟧ people? we're still on ⟦d.version⟧ and our renewal is in May. Will we lose our automations if we switch?
""", clean=True)

C("en", "csv", """
sku,part_no,description,qty,unit_price,eta
⟦d.sku⟧,⟦d.part/ssn⟧,Hex bolt M8x40 A2,⟦d.qty/n⟧,⟦d.amount/bare⟧,⟦d.date/iso⟧
⟦d.sku⟧,⟦d.part/ssn⟧,Washer M8 DIN 125,⟦d.qty/n⟧,⟦d.amount/bare⟧,⟦d.date/iso⟧
⟦d.sku⟧,⟦d.part/phone⟧,Cable gland PG11,⟦d.qty/n⟧,⟦d.amount/bare⟧,⟦d.date/iso⟧
⟦d.sku⟧,⟦d.part/plain⟧,Relay 24V DC,⟦d.qty/n⟧,⟦d.amount/bare⟧,⟦d.date/iso⟧
""", clean=True)

C("en", "ticket", """
⟦d.ticket/jira⟧: Checkout returns ⟦d.status⟧ on Safari 17
Environment: production, ⟦d.product⟧ ⟦d.version⟧, build ⟦d.commit/short⟧
Steps to reproduce:
1. Add ⟦d.sku⟧ to the basket
2. Apply voucher SPRING25
3. Click "Pay now"
Expected: order confirmation. Actual: error page after ⟦d.duration⟧.
Affects roughly ⟦d.percent⟧ of sessions since Monday's deploy.
""", clean=True)

C("en", "email", """
Facilities notice

⟦d.room⟧ will be closed on ⟦d.date/wd⟧ for carpet replacement. The Marketing team will use ⟦d.room⟧ instead. Will everyone who booked the room for May please rebook via ⟦d.product⟧.

Parking: level -2 is reserved for the ⟦d.org⟧ delegation on that day.

Thanks,
Facilities & Workplace
""", clean=True)

C("en", "notes", """
Purchase order ⟦d.order⟧ – approved
Supplier: ⟦d.org⟧
Lines:
- ⟦d.qty⟧ ⟦d.model⟧ @ ⟦d.amount⟧
- ⟦d.qty⟧ docking stations, part no. ⟦d.part/ssn⟧
- ⟦d.qty⟧ ⟦d.product⟧ licences
Delivery by ⟦d.date/long⟧ to Goods In, ref ⟦d.invoice⟧.
Approved by: Head of IT
""", clean=True)

C("en", "form", """
RETURN AUTHORISATION
RMA no.: ⟦d.order⟧
Product: ⟦d.model⟧, serial ⟦d.part/plain⟧
Reason: dead on arrival (fan noise, error E-04)
Purchase date: ⟦d.date/num⟧   Price: ⟦d.amount⟧
Return label: ⟦d.tracking⟧
Refund method: original payment (Visa)
Approved by: Support Team Lead, ⟦d.org⟧
""", clean=True)


# ===========================================================================
# GERMAN
# ===========================================================================
C("de", "email", """
Betreff: Ihre Anfrage vom ⟦d.date/num⟧ – Vorgangsnummer ⟦d.ticket/case⟧

⟦p1.g:Sehr geehrter¦Sehr geehrte⟧ ⟦p1.hon⟧ ⟦p1.fam⟧,

vielen Dank für Ihre Nachricht. Wir haben Ihre Lieferanschrift wie gewünscht auf ⟦addr1⟧ geändert. Die Bestellung ⟦d.order⟧ wird voraussichtlich am ⟦d.date/wd⟧ zugestellt.

Bei Rückfragen erreichen Sie mich unter ⟦phone⟧.

Mit freundlichen Grüßen

⟦p2.full⟧
Kundenservice
⟦d.org⟧
""")

C("de", "email", """
Hallo ⟦p1.given⟧,

kurze Info: ⟦p2.given⟧ ist ab Montag im Urlaub, ich übernehme solange die Tickets in ⟦d.product⟧. Kannst du mir bis Mittwoch die Zugänge für ⟦d.ticket/jira⟧ geben?

Außerdem fährt ⟦p3.full⟧ nächste Woche nach ⟦city⟧ zum Kunden, falls du was mitgeben willst.

VG
⟦p4.given⟧
""")

C("de", "email", """
Von: ⟦p1.full⟧ <⟦p1.cemail⟧>
Gesendet: ⟦d.date/wd⟧ ⟦d.time⟧
An: ⟦p2.full⟧ <⟦p2.cemail⟧>
Cc: ⟦p3.cemail⟧
Betreff: AW: Rechnung ⟦d.invoice#i⟧

Hallo ⟦p2.hon⟧ ⟦p2.fam⟧,

die Rechnung ⟦d.invoice#i⟧ über ⟦d.amount⟧ ist bei uns noch offen. Könnten Sie bitte prüfen, ob die Zahlung bereits angewiesen wurde?

Danke und Gruß
⟦p1.full⟧
⟦p1.job⟧
""")

C("de", "email", """
Passt, dann bis Donnerstag!

Gruß
⟦p1.given⟧

Am ⟦d.date/num⟧ um ⟦d.time⟧ schrieb ⟦p2.full⟧ <⟦p2.email⟧>:
> Hallo ⟦p1.given⟧,
> der Techniker kommt am Donnerstag zwischen 8 und 12 Uhr zu dir (⟦street⟧). Bitte sorg dafür, dass jemand da ist und der Zählerschrank frei zugänglich ist.
> Auftragsnummer: ⟦d.order⟧
""")

C("de", "ticket", """
Ticket ⟦d.ticket/hash⟧ – Kanal: Kontaktformular
Name: ⟦p1.full⟧
E-Mail: ⟦p1.email⟧
Kundennummer: ⟦d.cust⟧

Nachricht:
Guten Tag, meine Waschmaschine (⟦d.model⟧, gekauft am ⟦d.date/num⟧) verliert seit einer Woche Wasser. Bitte schicken Sie einen Techniker an folgende Adresse: ⟦addr1⟧. Tagsüber bin ich unter ⟦phone⟧ erreichbar.
Mit freundlichen Grüßen
⟦p1.full⟧
""")

C("de", "ticket", """
Incident ⟦d.ticket/inc⟧
Melder: ⟦p1.full⟧ (⟦p1.cemail⟧), Standort ⟦city⟧, ⟦d.room⟧
Bearbeiter: ⟦p2.full⟧
Kurzbeschreibung: VPN-Verbindung bricht nach Update auf ⟦d.version⟧ ab
Beschreibung: Seit ⟦d.date/wd⟧ trennt der Client alle 10 Minuten die Verbindung. Gerät: ⟦d.model⟧, Inventarnr. ⟦d.part/plain⟧.
Arbeitsnotiz: ⟦p1.given⟧ telefonisch unter ⟦phone⟧ nicht erreicht, Rückruf morgen.
""")

C("de", "chat", """
kannst du mir helfen eine mail an ⟦p1.g:meinen vermieter¦meine vermieterin⟧ zu schreiben? ⟦p1.g:er¦sie⟧ heißt ⟦p1.lower⟧ und die heizung in der wohnung ⟦addr1|lower⟧ geht seit ⟦d.date/short⟧ nicht. hab schon 3 mal angerufen. soll höflich aber bestimmt klingen, miete ist ⟦d.amount⟧ warm
""")

C("de", "chat", """
Schreib mir bitte ein Anschreiben für eine Stelle als Industriemechaniker bei ⟦d.org⟧. Ich heiße ⟦p1.full⟧, geboren am ⟦dob⟧, wohne in ⟦city⟧ und habe 12 Jahre Berufserfahrung. Kontakt: ⟦phone⟧, ⟦p1.email⟧. Bitte nicht länger als eine Seite. Kennziffer der Anzeige: ⟦d.ticket/case⟧.
""")

C("de", "chat", """
hi, kannst du das auf englisch übersetzen? "Sehr geehrte Damen und Herren, mein Name ist ⟦p1.full⟧, ich wohne seit ⟦d.date/long⟧ in ⟦city⟧ und möchte mich für die Wohnung ⟦street⟧ bewerben. Mein Nettoeinkommen liegt bei ⟦d.amount⟧." danke dir!!
""")

C("de", "log", """
⟦d.ts⟧ INFO  [anmeldung] Benutzer ⟦p1.email⟧ erfolgreich angemeldet (IP ⟦ip⟧)
⟦d.ts⟧ WARN  [versand] Adresse unvollständig für Auftrag ⟦d.order⟧: "⟦street⟧" – PLZ fehlt
⟦d.ts⟧ INFO  [mailer] Rechnung ⟦d.invoice⟧ an ⟦p2.full⟧ <⟦p2.email⟧> versendet
⟦d.ts⟧ ERROR [zahlung] Lastschrift abgelehnt, Status ⟦d.status⟧
""")

C("de", "csv", """
Kundennr;Vorname;Nachname;Anschrift;Telefon;Kunde seit
⟦d.cust⟧;⟦p1.given⟧;⟦p1.family⟧;⟦addr1⟧;⟦phone⟧;⟦d.date/num⟧
⟦d.cust⟧;⟦p2.given⟧;⟦p2.family⟧;⟦addr1⟧;⟦phone⟧;⟦d.date/num⟧
⟦d.cust⟧;⟦p3.given⟧;⟦p3.family⟧;⟦addr1⟧;⟦phone⟧;⟦d.date/num⟧
""")

C("de", "form", """
Patientenaufnahme
Nachname: ⟦p1.family⟧
Vorname: ⟦p1.given⟧
Geburtsdatum: ⟦dob⟧
Anschrift: ⟦addr1⟧
Telefon: ⟦phone⟧
Krankenkasse: ⟦d.org=Techniker Krankenkasse⟧
Hausarzt: Dr. ⟦p2.fam⟧, ⟦city⟧
Termin: ⟦d.date/wd⟧, ⟦d.time⟧ Uhr
""")

C("de", "form", """
SEPA-Lastschriftmandat
Gläubiger-Identifikationsnummer: ⟦d.creditor⟧
Mandatsreferenz: ⟦d.cust⟧
Kontoinhaber: ⟦p1.full⟧
Anschrift: ⟦addr1⟧
IBAN: ⟦iban⟧
BIC: ⟦d.bic⟧
Ort, Datum: ⟦city⟧, ⟦d.date/num⟧
Unterschrift: ______________________
""")

C("de", "notes", """
Protokoll Teammeeting ⟦d.date/num⟧, ⟦d.room⟧
Teilnehmer: ⟦p1.full⟧, ⟦p2.full⟧, ⟦p3.full⟧, ⟦p4.given⟧ (per ⟦d.product=Teams⟧ aus ⟦city⟧)
Entschuldigt: ⟦p5.hon⟧ ⟦p5.fam⟧
Protokoll: ⟦p2.init⟧

TOP 1: Umstellung auf ⟦d.product⟧ verschiebt sich auf Juni.
TOP 2: Budget ⟦d.amount⟧ freigegeben, ⟦p3.given⟧ holt Angebote ein.
TOP 3: Sommerfest am ⟦d.date/short⟧ in ⟦city⟧ – ⟦p1.given⟧ organisiert.
Nächster Termin: ⟦d.date/wd⟧
""")

C("de", "shipping", """
Lieferschein ⟦d.order⟧
Lieferdatum: ⟦d.date/num⟧
Versand mit ⟦d.org=DHL⟧, Sendungsnr. ⟦d.tracking/dhl⟧

Lieferanschrift:
⟦p1.full⟧
⟦addrmlc⟧

Pos. 1  ⟦d.qty⟧ ⟦d.model⟧   ⟦d.amount⟧
Pos. 2  ⟦d.qty⟧ Ersatzfilter, Art.-Nr. ⟦d.part/phone⟧
Bitte Ware bei Erhalt auf Transportschäden prüfen.
""")

C("de", "shipping", """
Avis Spedition – Auftrag ⟦d.order⟧
Abholung: ⟦d.date/wd⟧ ab ⟦d.time⟧ Uhr bei ⟦d.org⟧, Rampe 4
Zustellung an: ⟦p1.full⟧, ⟦addr1⟧
Ansprechpartner vor Ort: ⟦p2.hon⟧ ⟦p2.fam⟧, Tel. ⟦phone⟧
Ware: ⟦d.qty⟧, Gewicht 780 kg
Hinweis: Zufahrt nur über ⟦street⟧, Tor 2.
""")

C("de", "email", """
Liebe Kolleginnen und Kollegen,

ab ⟦d.date/wd⟧ verstärkt ⟦p1.full⟧ unser Team als ⟦p1.job⟧. ⟦p1.given⟧ kommt aus ⟦city⟧ und war zuletzt bei ⟦d.org⟧ tätig. Bitte heißt ⟦p1.g:ihn¦sie⟧ herzlich willkommen!

Als ⟦p2.g:Pate¦Patin⟧ steht ⟦p2.full⟧ zur Seite, der Arbeitsplatz ist in ⟦d.room⟧.

Viele Grüße
⟦p3.full⟧
Personalabteilung
""")

C("de", "email", """
Betreff: Abwesenheitsnotiz: ⟦d.ticket/jira⟧

Vielen Dank für Ihre Nachricht. Ich bin bis einschließlich ⟦d.date/long⟧ nicht im Büro und habe keinen Zugriff auf meine E-Mails. In dringenden Fällen wenden Sie sich bitte an ⟦p1.full⟧ (⟦p1.cemail⟧, ⟦phone⟧).

Mit freundlichen Grüßen
⟦p2.full⟧
⟦p2.job⟧
⟦d.org⟧ | ⟦addr1⟧
""")

C("de", "email", """
Hallo ⟦p1.hon⟧ ⟦p1.fam⟧,

wie besprochen hier meine Bankverbindung für die Rückzahlung der Kaution:

Kontoinhaber: ⟦p2.full⟧
IBAN: ⟦iban⟧
Verwendungszweck: Kaution ⟦street⟧

Die Schlüssel habe ich am ⟦d.date/num⟧ an ⟦p3.given⟧ übergeben, Zählerstand Strom: ⟦d.qty/n⟧ kWh.

Viele Grüße
⟦p2.given⟧
""")

C("de", "form", """
Anmeldung bei der Meldebehörde
Familienname: ⟦p1.family⟧
Vornamen: ⟦p1.given⟧
Geburtsdatum: ⟦dob⟧
Geburtsort: ⟦city@any⟧
Neue Wohnung: ⟦addr1⟧
Bisherige Wohnung: ⟦addr1@any⟧
Einzugsdatum: ⟦d.date/num⟧
Termin: ⟦d.date/wd⟧, ⟦d.time⟧ Uhr, Schalter 7
""")

C("de", "email", """
Ihre Reiseunterlagen – Buchungsnummer ⟦d.booking⟧

Reisende/r: ⟦p1.hon⟧ ⟦p1.full⟧
Hinflug: ⟦d.flight⟧ am ⟦d.date/wd⟧ um ⟦d.time⟧ Uhr
Rückflug: ⟦d.flight⟧ am ⟦d.date/wd⟧
Hotel: ⟦d.org=Hotel Alpenhof⟧, ⟦addr1@any⟧
Gesamtpreis: ⟦d.amount⟧

Gute Reise wünscht Ihr Reisebüro
""")

C("de", "email", """
Sehr geehrte Damen und Herren,

seit drei Wochen wird vor dem Haus ⟦street⟧ die Biotonne nicht geleert. Ich habe das bereits am ⟦d.date/num⟧ gemeldet (Vorgang ⟦d.ticket/case⟧), passiert ist nichts.

Mit freundlichen Grüßen
⟦p1.full⟧
""")

C("de", "chat", """
⟦p1.g:mein chef¦meine chefin⟧ (⟦p1.glower⟧) will dass ich am samstag arbeite obwohl im vertrag mo-fr steht. darf ⟦p1.g:er¦sie⟧ das?? arbeite bei ⟦d.org⟧ in ⟦city|lower⟧, vertrag seit ⟦d.date/num⟧
""")

C("de", "notes", """
Anmeldungen ⟦d.product⟧-Stammtisch – ⟦d.date/long⟧
- ⟦p1.full⟧ (⟦d.org⟧)
- ⟦p2.full⟧, ⟦p2.url⟧
- ⟦p3.gFAM⟧ – kommt später
- ⟦p4.full⟧ + 1 Begleitung
Ort: ⟦d.org=Brauhaus am Markt⟧, ⟦addr1⟧
""")

C("de", "email", """
⟦p1.full⟧
⟦addrml#me⟧

⟦d.org=Hausverwaltung Sonnenhof GmbH⟧
z. Hd. ⟦p2.hon⟧ ⟦p2.fam⟧
⟦addrml⟧

⟦city⟧, ⟦d.date/num⟧

Nebenkostenabrechnung ⟦d.invoice⟧

⟦p2.g:Sehr geehrter¦Sehr geehrte⟧ ⟦p2.hon⟧ ⟦p2.fam⟧,

hiermit widerspreche ich der Nebenkostenabrechnung vom ⟦d.date/long⟧. Die Position „Hausmeister" ist mit ⟦d.amount⟧ deutlich höher als im Vorjahr. Bitte übersenden Sie mir die Belege.

Mit freundlichen Grüßen
⟦p1.full⟧
""")

C("de", "notes", """
Telefonnotiz ⟦d.date/num⟧, ⟦d.time⟧ Uhr
Anrufer: ⟦p1.hon⟧ ⟦p1.full⟧ (Kd.-Nr. ⟦d.cust⟧)
Anliegen: zieht zum Monatsende nach ⟦city⟧, neue Adresse ⟦addr1⟧
Möchte Ratenzahlung für Rechnung ⟦d.invoice⟧ (⟦d.amount⟧)
Rückruf bitte nach 17 Uhr unter ⟦phone⟧ – ⟦p2.init⟧
""")

# ---- German, no personal data --------------------------------------------
C("de", "email", """
Neu in ⟦d.product⟧ ⟦d.version⟧ – Stand ⟦d.date/long⟧

• Export nach ⟦d.product=DATEV⟧ jetzt auch für Gutschriften
• Schnellere Suche in Belegen
• Behoben: falsche Rundung bei Beträgen über ⟦d.amount⟧ (⟦d.ticket/jira⟧)

Das Update wird ab Montag automatisch verteilt. Fragen beantwortet unser Support unter der Ticketnummer ⟦d.ticket/hash⟧.
""", clean=True)

C("de", "shipping", """
Vielen Dank für Ihre Bestellung ⟦d.order⟧!

Artikel: ⟦d.model⟧ – ⟦d.qty⟧
Zwischensumme: ⟦d.amount⟧
Versand: kostenlos
Voraussichtliche Lieferung: ⟦d.date/wd⟧

Ihre Sendungsnummer lautet ⟦d.tracking/dhl⟧. Den Status können Sie jederzeit in Ihrem Kundenkonto verfolgen.
""", clean=True)

C("de", "email", """
Zahlungserinnerung zur Rechnung ⟦d.invoice#i⟧

Guten Tag,

sicher ist es Ihrer Aufmerksamkeit entgangen: Der Betrag von ⟦d.amount⟧ aus der Rechnung ⟦d.invoice#i⟧ war am ⟦d.date/num⟧ fällig. Bitte überweisen Sie den Betrag innerhalb von 7 Tagen unter Angabe der Rechnungsnummer.

Mit freundlichen Grüßen
Ihre Buchhaltung
⟦d.org⟧
""", clean=True)

C("de", "log", """
⟦d.ts⟧ [INFO] Nachtlauf gestartet (Job ⟦d.uuid⟧)
⟦d.ts⟧ [WARN] Verbindung zu Port ⟦d.port⟧ abgelehnt, neuer Versuch in 30 s
⟦d.ts⟧ [ERROR] Export fehlgeschlagen: HTTP ⟦d.status⟧ nach ⟦d.duration⟧
⟦d.ts⟧ [INFO] Nachtlauf beendet, ⟦d.qty/n⟧ Datensätze verarbeitet
""", clean=True)

C("de", "notes", """
Protokoll Abteilungsrunde ⟦d.date/num⟧, ⟦d.room⟧
Anwesend: Vertrieb, Einkauf, Geschäftsführung
1. Umsatz März: ⟦d.amount⟧ (Plan erreicht)
2. Messe im Mai: Standgröße 24 m², Kosten ⟦d.amount⟧
3. Neue Preisliste ab ⟦d.date/short⟧, Version ⟦d.version⟧
4. Offene Punkte aus ⟦d.ticket/jira⟧ bis Freitag klären
Nächste Runde: Dienstag, ⟦d.time⟧ Uhr
""", clean=True)

C("de", "chat", """
was ist besser für ein kleines büro mit ⟦d.qty/n⟧ leuten, ⟦d.product⟧ oder ⟦d.product⟧? wir nutzen noch ⟦d.version⟧ und der vertrag läuft im Juni aus. das Upgrade soll ⟦d.amount⟧ pro Jahr kosten, früher gab's sowas für 500 Mark lol
""", clean=True, name="de-chat-clean-mark")

C("de", "csv", """
Artikelnr;Bezeichnung;Menge;Einzelpreis;Lagerort
⟦d.part/ssn⟧;Sechskantschraube M8x40;⟦d.qty/n⟧;⟦d.amount/bare⟧;Regal 4
⟦d.part/phone⟧;Kabelverschraubung M20;⟦d.qty/n⟧;⟦d.amount/bare⟧;Regal 7
⟦d.sku⟧;Relais 24 V;⟦d.qty/n⟧;⟦d.amount/bare⟧;Regal 2
⟦d.ean⟧;Hutschiene 1 m;⟦d.qty/n⟧;⟦d.amount/bare⟧;Regal 1
""", clean=True)

C("de", "ticket", """
Störung ⟦d.ticket/inc⟧ – Drucker in ⟦d.room⟧ druckt nur leere Seiten
Gerät: ⟦d.model⟧, Firmware ⟦d.version⟧
Fehlercode: 49.4C02
Priorität: niedrig
Status: In Bearbeitung, Ersatzteil ⟦d.part/plain⟧ bestellt, Lieferung ⟦d.date/wd⟧
""", clean=True)

C("de", "notes", """
Aushang

Am ⟦d.date/wd⟧ wird zwischen ⟦d.time/am⟧ und 14:00 Uhr das Wasser abgestellt (Wartung durch ⟦d.org⟧). Bitte in dieser Zeit keine Waschmaschinen laufen lassen.

Ihre Hausverwaltung
""", clean=True)


# ===========================================================================
# FRENCH
# ===========================================================================
C("fr", "email", """
Objet : Votre dossier n° ⟦d.ticket/case⟧

⟦p1.g:Monsieur¦Madame⟧ ⟦p1.fam⟧,

Nous avons bien reçu votre demande de changement d'adresse. Votre nouvelle adresse de livraison est désormais :
⟦addrml⟧

Votre commande ⟦d.order⟧ sera livrée le ⟦d.date/wd⟧.

Nous vous prions d'agréer, ⟦p1.g:Monsieur¦Madame⟧, l'expression de nos salutations distinguées.

⟦p2.full⟧
Service client – ⟦d.org⟧
""")

C("fr", "email", """
Bonjour ⟦p1.hon⟧ ⟦p1.fam⟧,

Suite à notre échange téléphonique, je vous confirme le rendez-vous du ⟦d.date/wd⟧ à ⟦d.time⟧ dans nos locaux, ⟦addr1⟧. Merci de vous présenter à l'accueil, ⟦d.room⟧.

N'hésitez pas à me joindre au ⟦phone⟧ en cas d'empêchement.

Cordialement,
⟦p2.full⟧
⟦p2.job⟧
""")

C("fr", "email", """
Salut ⟦p1.given⟧,

tu peux regarder le ticket ⟦d.ticket/jira⟧ avant jeudi ? ⟦p2.given⟧ est en congé jusqu'au ⟦d.date/short⟧ et ⟦p3.full⟧ part à ⟦city⟧ lundi pour voir le client.

Merci !
⟦p4.given⟧
""")

C("fr", "email", """
De : ⟦p1.full⟧ <⟦p1.cemail⟧>
Envoyé : ⟦d.date/wd⟧ ⟦d.time⟧
À : ⟦p2.full⟧ <⟦p2.email⟧>
Cc : ⟦p3.full⟧ <⟦p3.cemail⟧>
Objet : RE: Facture ⟦d.invoice#i⟧

Bonjour ⟦p2.given⟧,

La facture ⟦d.invoice#i⟧ d'un montant de ⟦d.amount⟧ est toujours en attente de règlement. Pourriez-vous vérifier avec ⟦p3.given⟧ où en est la validation ?

Bien à vous,
⟦p1.full⟧
""")

C("fr", "email", """
Parfait, jeudi matin nous convient.

Bonne journée,
⟦p1.given⟧

Le ⟦d.date/wd⟧ à ⟦d.time⟧, ⟦p2.full⟧ <⟦p2.cemail⟧> a écrit :
> Bonjour,
> Le technicien passera au ⟦addr1⟧ jeudi entre 8h et 12h. Merci de laisser l'accès au compteur.
> Référence intervention : ⟦d.order⟧
> ⟦p2.full⟧
""")

C("fr", "ticket", """
Ticket ⟦d.ticket/hash⟧ – Formulaire de contact
Nom : ⟦p1.full⟧
E-mail : ⟦p1.email⟧
Téléphone : ⟦phone⟧

Message :
Bonjour, j'ai commandé un ⟦d.model⟧ (commande ⟦d.order⟧) et le colis a été livré à mon ancienne adresse. J'habite maintenant au ⟦addr1⟧. Pouvez-vous faire le nécessaire ? Le suivi indique ⟦d.tracking/s10⟧.
Merci d'avance
""")

C("fr", "ticket", """
Incident ⟦d.ticket/inc⟧
Demandeur : ⟦p1.full⟧ (⟦p1.cemail⟧) – site de ⟦city⟧, ⟦d.room⟧
Assigné à : ⟦p2.full⟧
Résumé : ⟦d.product=Outlook⟧ plante au démarrage depuis la mise à jour ⟦d.version⟧
Détails : poste ⟦d.model⟧, n° d'inventaire ⟦d.part/plain⟧. ⟦p1.g:L'utilisateur¦L'utilisatrice⟧ a déjà réinstallé le client.
Note : ⟦p1.given⟧ injoignable au ⟦phone⟧, rappel prévu demain.
""")

C("fr", "chat", """
tu peux m'aider a ecrire un mail a ⟦p1.g:mon proprio¦ma proprio⟧ ⟦p1.lower⟧ ? le chauffage au ⟦addr1|lower⟧ marche plus depuis le ⟦d.date/short⟧ et ⟦p1.g:il¦elle⟧ repond pas. je paie ⟦d.amount⟧ par mois quand meme. poli mais ferme stp
""")

C("fr", "chat", """
Rédige une lettre de motivation pour un poste d'aide-soignant(e) à ⟦city⟧. Je m'appelle ⟦p1.full⟧, j'habite ⟦addr1⟧, tél. ⟦phone⟧, mail ⟦p1.email⟧. J'ai 8 ans d'expérience en EHPAD. Référence de l'annonce : ⟦d.ticket/case⟧.
""")

C("fr", "log", """
⟦d.ts⟧ INFO  [connexion] utilisateur ⟦p1.email⟧ connecté depuis ⟦ip⟧
⟦d.ts⟧ WARN  [livraison] adresse incomplète pour la commande ⟦d.order⟧ : « ⟦street⟧ »
⟦d.ts⟧ INFO  [facturation] facture ⟦d.invoice⟧ envoyée à ⟦p2.full⟧
⟦d.ts⟧ ERROR [paiement] refus banque, code ⟦d.status⟧
""")

C("fr", "csv", """
id_client;prénom;nom;ville;téléphone;date_inscription
⟦d.cust⟧;⟦p1.given⟧;⟦p1.family⟧;⟦city⟧;⟦phone⟧;⟦d.date/num⟧
⟦d.cust⟧;⟦p2.given⟧;⟦p2.family⟧;⟦city⟧;⟦phone⟧;⟦d.date/num⟧
⟦d.cust⟧;⟦p3.given⟧;⟦p3.family⟧;⟦city@any⟧;⟦phone⟧;⟦d.date/num⟧
⟦d.cust⟧;⟦p4.given⟧;⟦p4.family⟧;⟦city⟧;⟦phone⟧;⟦d.date/num⟧
""")

C("fr", "form", """
FICHE D'INSCRIPTION
Nom : ⟦p1.family|upper⟧
Prénom : ⟦p1.given⟧
Date de naissance : ⟦dob⟧
Lieu de naissance : ⟦city⟧
Adresse : ⟦addr1⟧
Tél. : ⟦phone⟧
Courriel : ⟦p1.email⟧
Personne à prévenir : ⟦p2.full⟧ – ⟦phone⟧
Cours choisi : Yoga débutant, ⟦d.date/wd⟧ ⟦d.time⟧, ⟦d.room⟧
""")

C("fr", "form", """
Mandat de prélèvement SEPA
Identifiant créancier SEPA : ⟦d.creditor⟧
Référence unique du mandat : ⟦d.cust⟧
Nom du débiteur : ⟦p1.full⟧
Adresse : ⟦addr1⟧
IBAN : ⟦iban⟧
BIC : ⟦d.bic⟧
Fait à ⟦city⟧, le ⟦d.date/num⟧
Signature :
""")

C("fr", "notes", """
Compte rendu – réunion du ⟦d.date/wd⟧, ⟦d.room⟧
Présents : ⟦p1.full⟧, ⟦p2.full⟧, ⟦p3.hon⟧ ⟦p3.fam⟧, ⟦p4.given⟧ (en visio depuis ⟦city⟧)
Excusé(e)s : ⟦p5.full⟧
Secrétaire de séance : ⟦p2.init⟧

1. Migration vers ⟦d.product⟧ : reportée à juin.
2. Budget formation : ⟦d.amount⟧ validé ; ⟦p1.given⟧ s'occupe des devis.
3. Séminaire de mai à ⟦city@any⟧ – à confirmer.
Prochaine réunion : ⟦d.date/short⟧
""")

C("fr", "shipping", """
BON DE LIVRAISON ⟦d.order⟧
Transporteur : ⟦d.org=Colissimo⟧ – n° de suivi ⟦d.tracking/s10⟧
Date d'expédition : ⟦d.date/num⟧

Destinataire :
⟦p1.hon⟧ ⟦p1.full|upper⟧
⟦addrmlc⟧
Tél. : ⟦phone⟧

Colis : ⟦d.qty⟧ – ⟦d.model⟧
Montant TTC : ⟦d.amount⟧
""")

C("fr", "shipping", """
Instructions de livraison (commande ⟦d.order⟧) : sonner chez ⟦p1.family|upper⟧, interphone 23. En cas d'absence, déposer le colis chez ⟦p2.g:le voisin¦la voisine⟧, ⟦p2.hon⟧ ⟦p2.fam⟧, au ⟦addr1⟧. Créneau : ⟦d.date/wd⟧ ⟦d.time/am⟧-14:00. Suivi ⟦d.tracking⟧.
""")

C("fr", "email", """
Bonjour à toutes et à tous,

Nous avons le plaisir d'accueillir ⟦p1.full⟧ qui rejoint l'équipe en tant que ⟦p1.job⟧ le ⟦d.date/wd⟧. ⟦p1.given⟧ arrive de ⟦city⟧ où ⟦p1.g:il¦elle⟧ travaillait chez ⟦d.org⟧.

⟦p2.g:Son parrain¦Sa marraine⟧ pour les premières semaines sera ⟦p2.full⟧. Bureau : ⟦d.room⟧.

Belle journée,
⟦p3.full⟧ – RH
""")

C("fr", "email", """
Objet : Réponse automatique : ⟦d.ticket/jira⟧

Bonjour,

Je suis absent(e) jusqu'au ⟦d.date/long⟧ inclus. Pour toute demande urgente, merci de contacter ⟦p1.full⟧ (⟦p1.cemail⟧ – ⟦phone⟧).

Cordialement,
⟦p2.full⟧
""")

C("fr", "email", """
Bonjour ⟦p1.hon⟧ ⟦p1.fam⟧,

Comme convenu lors de l'état des lieux du ⟦d.date/num⟧, voici mes coordonnées bancaires pour la restitution du dépôt de garantie :
Titulaire : ⟦p2.full⟧
IBAN : ⟦iban⟧
Logement : ⟦addr1⟧

Bien cordialement,
⟦p2.full⟧
""")

C("fr", "email", """
Votre réservation ⟦d.booking⟧ est confirmée

Passager : ⟦p1.hon⟧ ⟦p1.full⟧
Vol aller : ⟦d.flight⟧ – ⟦d.date/wd⟧ à ⟦d.time⟧
Hôtel : ⟦d.org=Hôtel du Parc⟧, ⟦addr1@any⟧
Total : ⟦d.amount⟧

Bon voyage !
""")

C("fr", "email", """
Madame, Monsieur,

Depuis trois semaines, les poubelles ne sont plus ramassées devant le ⟦street⟧. J'ai déjà signalé le problème le ⟦d.date/num⟧ (réf. ⟦d.ticket/case⟧), sans suite.

Veuillez agréer, Madame, Monsieur, mes salutations distinguées.
⟦p1.full⟧
""")

C("fr", "email", """
Objet : Demande d'effacement de données (RGPD, art. 17)

Madame, Monsieur,

Je soussigné(e) ⟦p1.full⟧, né(e) le ⟦dob⟧, demande l'effacement de l'ensemble des données me concernant. Numéro client : ⟦d.cust⟧. Adresse e-mail du compte : ⟦p1.email⟧.

Merci de me confirmer la suppression par écrit.
⟦p1.full⟧
""")

C("fr", "chat", """
salut, ⟦p1.g:mon pote¦ma copine⟧ ⟦p1.glower⟧ de ⟦city|lower⟧ vient ce week end, tu connais des balades sympa en ⟦region⟧ ? on aura une voiture, budget ⟦d.amount⟧ max
""")

C("fr", "email", """
Bonjour ⟦p1.given⟧,

⟦p2.g:Ravi¦Ravie⟧ d'avoir échangé avec toi au salon ⟦d.product⟧ ! Comme promis, je t'envoie la présentation. On se recontacte la semaine prochaine ?

À bientôt,
⟦p2.full⟧
⟦p2.job⟧
⟦p2.url⟧ | ⟦phone⟧
""")

C("fr", "notes", """
Appel du ⟦d.date/num⟧ – ⟦p1.hon⟧ ⟦p1.full⟧ (client ⟦d.cust⟧)
- Déménage à ⟦city⟧ au 1er du mois, nouvelle adresse : ⟦addr1⟧
- Souhaite un échéancier pour la facture ⟦d.invoice⟧ (⟦d.amount⟧)
- Rappeler au ⟦phone⟧ après 18h
""")

C("fr", "email", """
⟦p1.full⟧
⟦addrml⟧

À l'attention de ⟦p2.hon⟧ ⟦p2.fam⟧
⟦d.org=Agence Immobilière du Centre⟧

Objet : préavis de départ – lettre recommandée ⟦d.tracking/s10⟧

⟦p2.g:Monsieur¦Madame⟧,

Par la présente, je vous informe de mon intention de quitter le logement que j'occupe. Conformément au bail, le préavis d'un mois court à compter de la réception de ce courrier. Je vous propose un état des lieux le ⟦d.date/wd⟧.

Veuillez agréer, ⟦p2.g:Monsieur¦Madame⟧, mes salutations distinguées.
⟦p1.full⟧
""")

# ---- French, no personal data --------------------------------------------
C("fr", "email", """
Nouveautés ⟦d.product⟧ ⟦d.version⟧ – ⟦d.date/long⟧

• Export comptable pour les avoirs
• Recherche plus rapide dans les pièces jointes
• Correction : arrondi erroné au-delà de ⟦d.amount⟧ (⟦d.ticket/jira⟧)

La mise à jour sera déployée automatiquement à partir de lundi.
""", clean=True)

C("fr", "shipping", """
Merci pour votre commande ⟦d.order⟧ !

Article : ⟦d.model⟧ – ⟦d.qty⟧
Sous-total : ⟦d.amount⟧
Livraison : offerte
Livraison estimée : ⟦d.date/wd⟧

Numéro de suivi : ⟦d.tracking⟧. Vous pouvez suivre votre colis depuis votre espace client.
""", clean=True)

C("fr", "email", """
Relance : facture ⟦d.invoice#i⟧

Bonjour,

Sauf erreur de notre part, la facture ⟦d.invoice#i⟧ d'un montant de ⟦d.amount⟧, échue le ⟦d.date/num⟧, reste impayée. Merci de procéder au règlement sous huit jours en rappelant la référence.

Le service Comptabilité
⟦d.org⟧
""", clean=True)

C("fr", "log", """
⟦d.ts⟧ [INFO] traitement nocturne démarré (tâche ⟦d.uuid⟧)
⟦d.ts⟧ [WARN] connexion refusée sur le port ⟦d.port⟧, nouvel essai dans 30 s
⟦d.ts⟧ [ERROR] export échoué : HTTP ⟦d.status⟧ après ⟦d.duration⟧
⟦d.ts⟧ [INFO] traitement terminé, ⟦d.qty/n⟧ lignes
""", clean=True)

C("fr", "notes", """
Comité de direction du ⟦d.date/wd⟧ – ⟦d.room⟧
Présents : Direction générale, Finance, Ressources humaines
1. Chiffre d'affaires de mars : ⟦d.amount⟧
2. Salon de mai : stand de 24 m², budget ⟦d.amount⟧
3. Nouvelle grille tarifaire ⟦d.version⟧ au ⟦d.date/short⟧
Prochain comité : mardi ⟦d.time⟧
""", clean=True)

C("fr", "chat", """
c'est quoi la diff entre ⟦d.product⟧ et ⟦d.product⟧ pour une petite équipe de ⟦d.qty/n⟧ personnes ? on est encore en ⟦d.version⟧ et le contrat se termine en mai
""", clean=True)

C("fr", "csv", """
référence;désignation;quantité;prix unitaire;emplacement
⟦d.part/ssn⟧;Vis tête hexagonale M8x40;⟦d.qty/n⟧;⟦d.amount/bare⟧;A4
⟦d.part/phone⟧;Presse-étoupe M20;⟦d.qty/n⟧;⟦d.amount/bare⟧;B7
⟦d.sku⟧;Relais 24 V;⟦d.qty/n⟧;⟦d.amount/bare⟧;C2
""", clean=True)

C("fr", "notes", """
Note de service

Fermeture pour travaux le ⟦d.date/wd⟧ : ⟦d.room⟧. Les réunions prévues sont déplacées (nouvel emplacement : ⟦d.room⟧). Merci de mettre à jour vos réservations dans ⟦d.product⟧.

Les Services généraux
""", clean=True)

C("fr", "ticket", """
Ticket ⟦d.ticket/jira⟧ : le paiement renvoie une erreur ⟦d.status⟧ sur mobile
Environnement : production, version ⟦d.version⟧, build ⟦d.commit/short⟧
Étapes : ajouter ⟦d.sku⟧ au panier, valider, payer
Résultat : page d'erreur après ⟦d.duration⟧. Environ ⟦d.percent⟧ des sessions touchées depuis lundi.
""", clean=True)


# ===========================================================================
# SPANISH
# ===========================================================================
C("es", "email", """
Asunto: Su solicitud n.º ⟦d.ticket/case⟧

⟦p1.g:Estimado¦Estimada⟧ ⟦p1.hon⟧ ⟦p1.fam⟧:

Le confirmamos que hemos actualizado la dirección de entrega de su pedido ⟦d.order⟧ a ⟦addr1⟧. La entrega está prevista para el ⟦d.date/wd⟧.

Para cualquier consulta puede llamarnos al ⟦phone⟧.

Atentamente,
⟦p2.full⟧
Atención al cliente – ⟦d.org⟧
""")

C("es", "email", """
Hola ⟦p1.given⟧:

¿Puedes revisar el ticket ⟦d.ticket/jira⟧ antes del jueves? ⟦p2.given⟧ está de vacaciones hasta el ⟦d.date/short⟧ y ⟦p3.full⟧ se va a ⟦city⟧ el lunes para ver al cliente.

Un abrazo,
⟦p4.given⟧
""")

C("es", "email", """
De: ⟦p1.full⟧ <⟦p1.cemail⟧>
Enviado el: ⟦d.date/wd⟧ ⟦d.time⟧
Para: ⟦p2.full⟧ <⟦p2.email⟧>
CC: ⟦p3.cemail⟧
Asunto: RE: Factura ⟦d.invoice#i⟧

Hola ⟦p2.given⟧:

La factura ⟦d.invoice#i⟧ por importe de ⟦d.amount⟧ sigue pendiente. ¿Podrías comprobar con contabilidad si ya se ha emitido la transferencia?

Saludos,
⟦p1.full⟧
⟦p1.job⟧
""")

C("es", "email", """
Perfecto, el martes por la mañana nos viene bien.

Saludos,
⟦p1.given⟧

El ⟦d.date/wd⟧, a las ⟦d.time⟧, ⟦p2.full⟧ (<⟦p2.cemail⟧>) escribió:
> Buenos días:
> El técnico pasará por ⟦addr1⟧ el martes entre las 9 y las 13 h. Por favor, asegúrese de que haya alguien en casa.
> N.º de orden: ⟦d.order⟧
""")

C("es", "ticket", """
Ticket ⟦d.ticket/hash⟧ – Formulario web
Nombre: ⟦p1.full⟧
Correo: ⟦p1.email⟧
Teléfono: ⟦phone⟧

Mensaje:
Hola, compré una ⟦d.model⟧ (pedido ⟦d.order⟧) y la han entregado en mi antigua dirección. Ahora vivo en ⟦addr1⟧. ¿Podéis reenviarla? El número de seguimiento es ⟦d.tracking⟧.
Gracias
""")

C("es", "ticket", """
Incidencia ⟦d.ticket/inc⟧
Solicitante: ⟦p1.full⟧ (⟦p1.cemail⟧) – oficina de ⟦city⟧, ⟦d.room⟧
Asignada a: ⟦p2.full⟧
Resumen: la VPN se desconecta tras actualizar a ⟦d.version⟧
Detalle: equipo ⟦d.model⟧, n.º de inventario ⟦d.part/plain⟧.
Nota: llamado ⟦p1.given⟧ al ⟦phone⟧ sin respuesta; se reintenta mañana.
""")

C("es", "chat", """
me ayudas a escribir un correo a ⟦p1.g:mi casero¦mi casera⟧ ⟦p1.lower⟧? la calefaccion del piso en ⟦addr1|lower⟧ no funciona desde el ⟦d.date/short⟧ y no me contesta. pago ⟦d.amount⟧ al mes!! educado pero firme porfa
""")

C("es", "chat", """
Escríbeme una carta de presentación para un puesto de ⟦p1.g:enfermero¦enfermera⟧ en ⟦city⟧. Me llamo ⟦p1.full⟧, nací el ⟦dob⟧ y vivo en ⟦addr1⟧. Teléfono ⟦phone⟧, correo ⟦p1.email⟧. Tengo 6 años de experiencia en urgencias. Referencia de la oferta: ⟦d.ticket/case⟧.
""")

C("es", "log", """
⟦d.ts⟧ INFO  [login] usuario ⟦p1.email⟧ autenticado desde ⟦ip⟧
⟦d.ts⟧ WARN  [envíos] dirección incompleta en el pedido ⟦d.order⟧: "⟦street⟧"
⟦d.ts⟧ INFO  [facturación] factura ⟦d.invoice⟧ enviada a ⟦p2.full⟧
⟦d.ts⟧ ERROR [pagos] TPV rechazado, código ⟦d.status⟧
""")

C("es", "csv", """
id;nombre;apellidos;localidad;teléfono;fecha_alta
⟦d.cust⟧;⟦p1.given⟧;⟦p1.family⟧;⟦city⟧;⟦phone⟧;⟦d.date/num⟧
⟦d.cust⟧;⟦p2.given⟧;⟦p2.family⟧;⟦city⟧;⟦phone⟧;⟦d.date/num⟧
⟦d.cust⟧;⟦p3.given⟧;⟦p3.family⟧;⟦city⟧;⟦phone⟧;⟦d.date/num⟧
⟦d.cust⟧;⟦p4.given⟧;⟦p4.family⟧;⟦city@any⟧;⟦phone⟧;⟦d.date/num⟧
""")

C("es", "form", """
FICHA DE INSCRIPCIÓN
Nombre: ⟦p1.given⟧
Apellidos: ⟦p1.family⟧
Fecha de nacimiento: ⟦dob⟧
Domicilio: ⟦addr1⟧
Teléfono: ⟦phone⟧
Correo electrónico: ⟦p1.email⟧
Contacto de emergencia: ⟦p2.full⟧ (⟦phone⟧)
Actividad: Pilates, ⟦d.date/wd⟧ a las ⟦d.time⟧, ⟦d.room⟧
""")

C("es", "form", """
Orden de domiciliación de adeudo directo SEPA
Identificador del acreedor: ⟦d.creditor⟧
Referencia de la orden: ⟦d.cust⟧
Titular de la cuenta: ⟦p1.full⟧
Dirección: ⟦addr1⟧
IBAN: ⟦iban⟧
BIC: ⟦d.bic⟧
Lugar y fecha: ⟦city⟧, ⟦d.date/num⟧
Firma:
""")

C("es", "notes", """
Acta de la reunión – ⟦d.date/wd⟧, ⟦d.room⟧
Asistentes: ⟦p1.full⟧, ⟦p2.full⟧, ⟦p3.hon⟧ ⟦p3.fam⟧, ⟦p4.given⟧ (por videollamada desde ⟦city⟧)
Excusa su asistencia: ⟦p5.full⟧

1. Migración a ⟦d.product⟧: se aplaza a junio.
2. Presupuesto de formación: ⟦d.amount⟧ aprobado; ⟦p1.given⟧ pedirá presupuestos.
3. Cena de empresa en ⟦city⟧ el ⟦d.date/short⟧.
Próxima reunión: ⟦d.date/wd⟧
""")

C("es", "shipping", """
ALBARÁN DE ENTREGA ⟦d.order⟧
Transportista: ⟦d.org=SEUR⟧ – n.º de envío ⟦d.tracking⟧
Fecha: ⟦d.date/num⟧

Destinatario:
⟦p1.full⟧
⟦addrmlc⟧
Tel.: ⟦phone⟧

Bultos: ⟦d.qty⟧ – ⟦d.model⟧
Importe: ⟦d.amount⟧
""")

C("es", "shipping", """
Instrucciones de entrega del pedido ⟦d.order⟧: entregar a ⟦p1.full⟧ en ⟦addr1⟧. Si no hay nadie, dejar en conserjería o con ⟦p2.g:el vecino¦la vecina⟧ del 2ºA, ⟦p2.hon⟧ ⟦p2.fam⟧. Llamar antes al ⟦phone⟧. Franja: ⟦d.date/wd⟧ de ⟦d.time/am⟧ a 14:00.
""")

C("es", "email", """
Hola a todos:

Os presentamos a ⟦p1.full⟧, que se incorpora el ⟦d.date/wd⟧ como ⟦p1.job⟧. ⟦p1.given⟧ viene de ⟦city⟧, donde trabajaba en ⟦d.org⟧.

⟦p2.g:Su mentor¦Su mentora⟧ durante las primeras semanas será ⟦p2.full⟧. Puesto: ⟦d.room⟧.

¡Bienvenid⟦p1.g:o¦a⟧!
⟦p3.full⟧ – RR. HH.
""")

C("es", "email", """
Asunto: Respuesta automática: ⟦d.ticket/jira⟧

Gracias por su mensaje. Estaré fuera de la oficina hasta el ⟦d.date/long⟧. Para asuntos urgentes, contacte con ⟦p1.full⟧ (⟦p1.cemail⟧ / ⟦phone⟧).

Un saludo,
⟦p2.full⟧
""")

C("es", "email", """
Hola ⟦p1.given⟧:

Te paso mis datos para la devolución de la fianza del piso de ⟦street⟧:
Titular: ⟦p2.full⟧
IBAN: ⟦iban⟧

Las llaves se las dejé a ⟦p3.given⟧ el ⟦d.date/num⟧. Lectura del contador de luz: ⟦d.qty/n⟧ kWh.

Gracias y un saludo,
⟦p2.given⟧
""")

C("es", "email", """
Confirmación de reserva ⟦d.booking⟧

Pasajero: ⟦p1.hon⟧ ⟦p1.full⟧
Vuelo de ida: ⟦d.flight⟧, ⟦d.date/wd⟧ a las ⟦d.time⟧
Hotel: ⟦d.org=Hotel Miramar⟧, ⟦addr1@any⟧
Importe total: ⟦d.amount⟧

¡Buen viaje!
""")

C("es", "email", """
Buenos días:

Les escribo porque desde hace tres semanas no se recoge la basura en ⟦street⟧. Ya lo comuniqué el ⟦d.date/num⟧ (n.º de expediente ⟦d.ticket/case⟧) y sigue igual.

Atentamente,
⟦p1.full⟧
""")

C("es", "email", """
Asunto: Ejercicio del derecho de supresión (RGPD)

Yo, ⟦p1.full⟧, con fecha de nacimiento ⟦dob⟧ y domicilio en ⟦addr1⟧, solicito la supresión de todos mis datos personales. N.º de cliente: ⟦d.cust⟧. Correo asociado: ⟦p1.email⟧.

Un saludo,
⟦p1.full⟧
""")

C("es", "chat", """
hola!! mi amig⟦p1.g:o¦a⟧ ⟦p1.glower⟧ de ⟦city|lower⟧ viene este finde, q excursiones me recomiendas por ⟦region⟧? tenemos coche y unos ⟦d.amount⟧ de presupuesto
""")

C("es", "email", """
Hola ⟦p1.given⟧,

Encantad⟦p2.g:o¦a⟧ de conocerte en el meetup de ⟦d.product⟧. Te adjunto la presentación que comentamos.

Un saludo,
⟦p2.full⟧
⟦p2.job⟧ | ⟦d.org⟧
⟦p2.url⟧
""")

C("es", "notes", """
Llamada ⟦d.date/num⟧ – ⟦p1.full⟧ (⟦d.org⟧)
- Quien decide es ⟦p2.hon⟧ ⟦p2.fam⟧, ⟦p2.g:director financiero¦directora financiera⟧, en ⟦city⟧.
- Presupuesto aprox. ⟦d.amount⟧; piloto con ⟦d.qty/n⟧ usuarios.
- Enviar oferta ⟦d.quote⟧ antes del viernes. Móvil de ⟦p1.given⟧: ⟦phone⟧
""")

C("es", "email", """
A la atención de ⟦d.org⟧
Asunto: Parte de siniestro, póliza ⟦d.policy⟧

Datos del asegurado: ⟦p1.full⟧, ⟦addr1⟧, tel. ⟦phone⟧.
Fecha del siniestro: ⟦d.date/num⟧. Descripción: rotura de tubería en la cocina que ha dañado el piso de ⟦p2.g:el vecino¦la vecina⟧ de abajo, ⟦p2.hon⟧ ⟦p2.fam⟧.
Importe estimado: ⟦d.amount⟧. Ruego que el pago se realice en la cuenta ⟦iban⟧.

Atentamente,
⟦p1.full⟧
""")

C("es", "chat", """
oye tengo q mandar un burofax a la comunidad de vecinos, el presidente es ⟦p1.g:don¦doña⟧ ⟦p1.full⟧ y vive en el 3º. mi direccion es ⟦addr1⟧ y quiero reclamar la derrama de ⟦d.amount⟧ q aprobaron el ⟦d.date/short⟧ sin avisarme. me lo redactas?
""")

# ---- Spanish, no personal data --------------------------------------------
C("es", "email", """
Novedades de ⟦d.product⟧ ⟦d.version⟧ – ⟦d.date/long⟧

• Exportación de abonos a contabilidad
• Búsqueda más rápida en adjuntos
• Corregido: redondeo incorrecto en importes superiores a ⟦d.amount⟧ (⟦d.ticket/jira⟧)

La actualización se instalará automáticamente a partir del lunes.
""", clean=True)

C("es", "shipping", """
¡Gracias por tu pedido ⟦d.order⟧!

Artículo: ⟦d.model⟧ – ⟦d.qty⟧
Subtotal: ⟦d.amount⟧
Envío: gratis
Entrega estimada: ⟦d.date/wd⟧

Número de seguimiento: ⟦d.tracking⟧.
""", clean=True)

C("es", "email", """
Recordatorio de pago: factura ⟦d.invoice#i⟧

Estimado cliente:

Según nuestros registros, la factura ⟦d.invoice#i⟧ por importe de ⟦d.amount⟧ venció el ⟦d.date/num⟧. Le rogamos que realice el pago en un plazo de 7 días indicando el número de factura.

Departamento de Administración
⟦d.org⟧
""", clean=True)

C("es", "log", """
⟦d.ts⟧ [INFO] proceso nocturno iniciado (tarea ⟦d.uuid⟧)
⟦d.ts⟧ [WARN] conexión rechazada en el puerto ⟦d.port⟧, reintento en 30 s
⟦d.ts⟧ [ERROR] exportación fallida: HTTP ⟦d.status⟧ tras ⟦d.duration⟧
⟦d.ts⟧ [INFO] proceso terminado, ⟦d.qty/n⟧ registros
""", clean=True)

C("es", "notes", """
Comité de dirección – ⟦d.date/wd⟧, ⟦d.room⟧
Asistentes: Dirección General, Finanzas, Recursos Humanos
1. Facturación de marzo: ⟦d.amount⟧
2. Feria de mayo: stand de 24 m², presupuesto ⟦d.amount⟧
3. Nueva tarifa ⟦d.version⟧ a partir del ⟦d.date/short⟧
Próximo comité: martes a las ⟦d.time⟧
""", clean=True)

C("es", "chat", """
q diferencia hay entre ⟦d.product⟧ y ⟦d.product⟧ para un equipo de ⟦d.qty/n⟧ personas? seguimos con la ⟦d.version⟧ y el contrato acaba en mayo
""", clean=True)

C("es", "csv", """
referencia;descripción;cantidad;precio_unitario;ubicación
⟦d.part/ssn⟧;Tornillo hexagonal M8x40;⟦d.qty/n⟧;⟦d.amount/bare⟧;A4
⟦d.part/phone⟧;Prensaestopas M20;⟦d.qty/n⟧;⟦d.amount/bare⟧;B7
⟦d.sku⟧;Relé 24 V;⟦d.qty/n⟧;⟦d.amount/bare⟧;C2
""", clean=True)

C("es", "ticket", """
Ticket ⟦d.ticket/jira⟧: el pago devuelve un error ⟦d.status⟧ en móvil
Entorno: producción, versión ⟦d.version⟧, build ⟦d.commit/short⟧
Pasos: añadir ⟦d.sku⟧ a la cesta, confirmar, pagar
Resultado: página de error tras ⟦d.duration⟧. Afecta a un ⟦d.percent⟧ de las sesiones desde el lunes.
""", clean=True)

C("es", "notes", """
Aviso a los vecinos

El ⟦d.date/wd⟧ se cortará el agua de ⟦d.time/am⟧ a 14:00 por trabajos de mantenimiento de ⟦d.org⟧. Disculpen las molestias.

La Administración
""", clean=True)


# ===========================================================================
# ITALIAN
# ===========================================================================
C("it", "email", """
Oggetto: Pratica n. ⟦d.ticket/case⟧

⟦p1.g:Egregio¦Gentile⟧ ⟦p1.hon⟧ ⟦p1.fam⟧,

con la presente Le confermiamo che l'indirizzo di consegna dell'ordine ⟦d.order⟧ è stato aggiornato in ⟦addr1⟧. La consegna è prevista per ⟦d.date/wd⟧.

Per qualsiasi informazione può contattarci al numero ⟦phone⟧.

Distinti saluti,
⟦p2.full⟧
Servizio Clienti – ⟦d.org⟧
""")

C("it", "email", """
Ciao ⟦p1.given⟧,

riesci a dare un'occhiata al ticket ⟦d.ticket/jira⟧ entro giovedì? ⟦p2.given⟧ è in ferie fino al ⟦d.date/short⟧ e ⟦p3.full⟧ lunedì va a ⟦city⟧ dal cliente.

Un saluto,
⟦p4.given⟧
""")

C("it", "email", """
Da: ⟦p1.full⟧ <⟦p1.cemail⟧>
Inviato: ⟦d.date/wd⟧ ⟦d.time⟧
A: ⟦p2.full⟧ <⟦p2.email⟧>
Cc: ⟦p3.full⟧ <⟦p3.cemail⟧>
Oggetto: R: Fattura ⟦d.invoice#i⟧

Buongiorno ⟦p2.hon⟧ ⟦p2.fam⟧,

la fattura ⟦d.invoice#i⟧ di ⟦d.amount⟧ risulta ancora non saldata. Può verificare con l'amministrazione?

Cordiali saluti,
⟦p1.full⟧
⟦p1.job⟧
""")

C("it", "email", """
Va benissimo, giovedì mattina ci siamo.

Grazie,
⟦p1.given⟧

Il giorno ⟦d.date/wd⟧ alle ore ⟦d.time⟧ ⟦p2.full⟧ <⟦p2.cemail⟧> ha scritto:
> Buongiorno,
> il tecnico passerà in ⟦addr1⟧ giovedì tra le 8 e le 12.
> Rif. intervento: ⟦d.order⟧
""")

C("it", "ticket", """
Ticket ⟦d.ticket/hash⟧ – Modulo di contatto
Nome: ⟦p1.full⟧
Email: ⟦p1.email⟧
Cellulare: ⟦phone⟧

Messaggio:
Buongiorno, ho ordinato una ⟦d.model⟧ (ordine ⟦d.order⟧) ma è stata consegnata al vecchio indirizzo. Ora abito in ⟦addr1⟧. Potete rispedirla? Tracking: ⟦d.tracking⟧.
Grazie
""")

C("it", "ticket", """
Segnalazione ⟦d.ticket/inc⟧
Richiedente: ⟦p1.full⟧ (⟦p1.cemail⟧) – sede di ⟦city⟧, ⟦d.room⟧
Assegnata a: ⟦p2.full⟧
Oggetto: la stampante non stampa dopo l'aggiornamento ⟦d.version⟧
Dettagli: PC ⟦d.model⟧, cespite ⟦d.part/plain⟧.
Nota: ⟦p1.given⟧ non risponde al ⟦phone⟧, riprovo domani.
""")

C("it", "chat", """
mi aiuti a scrivere una mail ⟦p1.g:al padrone di casa¦alla padrona di casa⟧, ⟦p1.lower⟧? il riscaldamento in ⟦addr1|lower⟧ non va dal ⟦d.date/short⟧ e non risponde al telefono. pago ⟦d.amount⟧ al mese!! gentile ma decisa grazie
""")

C("it", "chat", """
Scrivimi una lettera di presentazione per un posto da ⟦p1.g:infermiere¦infermiera⟧ a ⟦city⟧. Mi chiamo ⟦p1.full⟧, ⟦p1.g:sono nato¦sono nata⟧ il ⟦dob⟧ e abito in ⟦addr1⟧. Cell. ⟦phone⟧, email ⟦p1.email⟧. Rif. annuncio ⟦d.ticket/case⟧.
""")

C("it", "log", """
⟦d.ts⟧ INFO  [accesso] utente ⟦p1.email⟧ autenticato da ⟦ip⟧
⟦d.ts⟧ WARN  [spedizioni] indirizzo incompleto per l'ordine ⟦d.order⟧: "⟦street⟧"
⟦d.ts⟧ INFO  [fatturazione] fattura ⟦d.invoice⟧ inviata a ⟦p2.full⟧
⟦d.ts⟧ ERROR [pagamenti] transazione rifiutata, codice ⟦d.status⟧
""")

C("it", "csv", """
codice;nome;cognome;comune;telefono;data_iscrizione
⟦d.cust⟧;⟦p1.given⟧;⟦p1.family⟧;⟦city⟧;⟦phone⟧;⟦d.date/num⟧
⟦d.cust⟧;⟦p2.given⟧;⟦p2.family⟧;⟦city⟧;⟦phone⟧;⟦d.date/num⟧
⟦d.cust⟧;⟦p3.given⟧;⟦p3.family⟧;⟦city⟧;⟦phone⟧;⟦d.date/num⟧
""")

C("it", "form", """
MODULO DI ISCRIZIONE
Cognome: ⟦p1.family⟧
Nome: ⟦p1.given⟧
Nat⟦p1.g:o¦a⟧ a: ⟦city⟧ il ⟦dob⟧
Residente in: ⟦addr1⟧
Telefono: ⟦phone⟧
E-mail: ⟦p1.email⟧
Corso: Nuoto adulti, ⟦d.date/wd⟧ ore ⟦d.time⟧
""")

C("it", "form", """
Mandato per addebito diretto SEPA
Codice identificativo del creditore: ⟦d.creditor⟧
Codice mandato: ⟦d.cust⟧
Intestatario del conto: ⟦p1.full⟧
Indirizzo: ⟦addr1⟧
IBAN: ⟦iban⟧
Luogo e data: ⟦city⟧, ⟦d.date/num⟧
Firma: ______________
""")

C("it", "notes", """
Verbale riunione del ⟦d.date/num⟧ – ⟦d.room⟧
Presenti: ⟦p1.full⟧, ⟦p2.full⟧, ⟦p3.hon⟧ ⟦p3.fam⟧, ⟦p4.given⟧ (collegat⟦p4.g:o¦a⟧ da ⟦city⟧)
Assenti giustificati: ⟦p5.full⟧

1. Passaggio a ⟦d.product⟧ rinviato a giugno.
2. Budget formazione ⟦d.amount⟧ approvato; ⟦p1.given⟧ raccoglie i preventivi.
3. Cena aziendale a ⟦city⟧ il ⟦d.date/short⟧.
Prossima riunione: ⟦d.date/wd⟧
""")

C("it", "shipping", """
DOCUMENTO DI TRASPORTO n. ⟦d.order⟧ del ⟦d.date/num⟧
Vettore: ⟦d.org=BRT⟧ – spedizione ⟦d.tracking⟧

Destinatario:
⟦p1.full⟧
⟦addrmlc⟧
Tel. ⟦phone⟧

Colli: ⟦d.qty⟧ – ⟦d.model⟧
Causale: vendita
Importo: ⟦d.amount⟧
""")

C("it", "shipping", """
Consegna ordine ⟦d.order⟧: citofonare ⟦p1.family|upper⟧. Se assente lasciare il pacco ⟦p2.g:al portiere¦alla portinaia⟧, ⟦p2.hon⟧ ⟦p2.fam⟧, ⟦addr1⟧. Tel. ⟦phone⟧. Fascia oraria: ⟦d.date/wd⟧ ⟦d.time/am⟧-13:00.
""")

C("it", "email", """
Ciao a tutti,

diamo il benvenuto a ⟦p1.full⟧, che dal ⟦d.date/wd⟧ entra nel team come ⟦p1.job⟧. ⟦p1.given⟧ arriva da ⟦city⟧ dove lavorava in ⟦d.org⟧.

Nelle prime settimane ⟦p1.g:lo¦la⟧ affiancherà ⟦p2.full⟧. Postazione: ⟦d.room⟧.

Un saluto,
⟦p3.full⟧ – Risorse Umane
""")

C("it", "email", """
Oggetto: Risposta automatica: ⟦d.ticket/jira⟧

Grazie per il messaggio. Sarò fuori ufficio fino al ⟦d.date/long⟧. Per urgenze contattare ⟦p1.full⟧ (⟦p1.cemail⟧, ⟦phone⟧).

Cordiali saluti,
⟦p2.full⟧
""")

C("it", "email", """
Ciao ⟦p1.given⟧,

ti mando i dati per la restituzione della caparra dell'appartamento in ⟦street⟧:
Intestatario: ⟦p2.full⟧
IBAN: ⟦iban⟧

Le chiavi le ho lasciate a ⟦p3.given⟧ il ⟦d.date/num⟧.

Un saluto,
⟦p2.given⟧
""")

C("it", "email", """
Conferma prenotazione ⟦d.booking⟧

Passeggero: ⟦p1.hon⟧ ⟦p1.full⟧
Volo di andata: ⟦d.flight⟧ – ⟦d.date/wd⟧ ore ⟦d.time⟧
Hotel: ⟦d.org=Hotel Bellavista⟧, ⟦addr1@any⟧
Totale: ⟦d.amount⟧

Buon viaggio!
""")

C("it", "email", """
Spett.le Ufficio Ambiente,

da tre settimane non viene ritirata la differenziata in ⟦street⟧. Ho già segnalato il problema il ⟦d.date/num⟧ (protocollo ⟦d.ticket/case⟧).

Distinti saluti,
⟦p1.full⟧
""")

C("it", "email", """
Oggetto: Richiesta di cancellazione dei dati (art. 17 GDPR)

Il/La sottoscritto/a ⟦p1.full⟧, nato/a il ⟦dob⟧, residente in ⟦addr1⟧, chiede la cancellazione di tutti i dati personali che lo/la riguardano. Codice cliente: ⟦d.cust⟧. Email: ⟦p1.email⟧.

⟦p1.full⟧
""")

C("it", "chat", """
ciao! ⟦p1.g:il mio amico¦la mia amica⟧ ⟦p1.glower⟧ di ⟦city|lower⟧ viene a trovarmi nel weekend, che gite mi consigli in ⟦region⟧?? abbiamo la macchina e un budget di ⟦d.amount⟧
""")

C("it", "email", """
Ciao ⟦p1.given⟧,

è stato un piacere conoscerti al meetup ⟦d.product⟧! Ti giro le slide come promesso.

Un saluto,
⟦p2.full⟧
⟦p2.job⟧ @ ⟦d.org⟧
⟦p2.url⟧
""")

C("it", "notes", """
Telefonata ⟦d.date/num⟧ – ⟦p1.full⟧ (⟦d.org⟧)
- Decide ⟦p2.hon⟧ ⟦p2.fam⟧, ⟦p2.g:direttore finanziario¦direttrice finanziaria⟧, sede di ⟦city⟧
- Budget circa ⟦d.amount⟧, pilota con ⟦d.qty/n⟧ utenti
- Inviare offerta ⟦d.quote⟧ entro venerdì; cell. di ⟦p1.given⟧: ⟦phone⟧
""")

C("it", "email", """
Egregio Amministratore,

Le segnalo che dal ⟦d.date/num⟧ si verificano infiltrazioni d'acqua nel mio appartamento in ⟦addr1⟧, provenienti dall'unità ⟦p2.g:del Sig.¦della Sig.ra⟧ ⟦p2.fam⟧ al piano superiore. Allego foto e preventivo (⟦d.quote⟧, ⟦d.amount⟧).

In attesa di un Suo cortese riscontro porgo distinti saluti.
⟦p1.full⟧
⟦phone⟧
""")

C("it", "chat", """
scusa mi correggi questo messaggio? "Gentile ⟦p1.hon⟧ ⟦p1.fam⟧, Le scrivo per conto di mia madre, ⟦p2@it.full⟧, residente a ⟦city⟧, per chiedere il rimborso della visita del ⟦d.date/num⟧ (fattura ⟦d.invoice⟧)". grazie mille
""")

# ---- Italian, no personal data -------------------------------------------
C("it", "email", """
Novità di ⟦d.product⟧ ⟦d.version⟧ – ⟦d.date/long⟧

• Esportazione delle note di credito verso la contabilità
• Ricerca più veloce negli allegati
• Corretto: arrotondamento errato per importi oltre ⟦d.amount⟧ (⟦d.ticket/jira⟧)

L'aggiornamento verrà installato automaticamente da lunedì.
""", clean=True)

C("it", "shipping", """
Grazie per il tuo ordine ⟦d.order⟧!

Articolo: ⟦d.model⟧ – ⟦d.qty⟧
Subtotale: ⟦d.amount⟧
Spedizione: gratuita
Consegna prevista: ⟦d.date/wd⟧

Codice di tracciamento: ⟦d.tracking⟧.
""", clean=True)

C("it", "email", """
Sollecito di pagamento – fattura ⟦d.invoice#i⟧

Gentile Cliente,

dai nostri controlli risulta che la fattura ⟦d.invoice#i⟧ di ⟦d.amount⟧, scaduta il ⟦d.date/num⟧, non è ancora stata saldata. La preghiamo di provvedere entro 7 giorni.

Ufficio Amministrazione
⟦d.org⟧
""", clean=True)

C("it", "log", """
⟦d.ts⟧ [INFO] elaborazione notturna avviata (job ⟦d.uuid⟧)
⟦d.ts⟧ [WARN] connessione rifiutata sulla porta ⟦d.port⟧, nuovo tentativo tra 30 s
⟦d.ts⟧ [ERROR] esportazione fallita: HTTP ⟦d.status⟧ dopo ⟦d.duration⟧
⟦d.ts⟧ [INFO] elaborazione terminata, ⟦d.qty/n⟧ record
""", clean=True)

C("it", "notes", """
Riunione di direzione – ⟦d.date/wd⟧, ⟦d.room⟧
Presenti: Direzione Generale, Amministrazione, Risorse Umane
1. Fatturato di marzo: ⟦d.amount⟧
2. Fiera di maggio: stand di 24 m², budget ⟦d.amount⟧
3. Nuovo listino ⟦d.version⟧ dal ⟦d.date/short⟧
Prossima riunione: martedì ore ⟦d.time⟧
""", clean=True)

C("it", "chat", """
che differenza c'è tra ⟦d.product⟧ e ⟦d.product⟧ per un team di ⟦d.qty/n⟧ persone? siamo ancora sulla ⟦d.version⟧ e il contratto scade a maggio
""", clean=True)

C("it", "csv", """
codice_articolo;descrizione;quantità;prezzo_unitario;ubicazione
⟦d.part/ssn⟧;Vite testa esagonale M8x40;⟦d.qty/n⟧;⟦d.amount/bare⟧;A4
⟦d.part/phone⟧;Pressacavo M20;⟦d.qty/n⟧;⟦d.amount/bare⟧;B7
⟦d.sku⟧;Relè 24 V;⟦d.qty/n⟧;⟦d.amount/bare⟧;C2
""", clean=True)

C("it", "ticket", """
Ticket ⟦d.ticket/jira⟧: il pagamento restituisce errore ⟦d.status⟧ da mobile
Ambiente: produzione, versione ⟦d.version⟧, build ⟦d.commit/short⟧
Passi: aggiungere ⟦d.sku⟧ al carrello, confermare, pagare
Risultato: pagina di errore dopo ⟦d.duration⟧. Circa il ⟦d.percent⟧ delle sessioni da lunedì.
""", clean=True)

C("it", "notes", """
Avviso ai condomini

Il giorno ⟦d.date/wd⟧ dalle ⟦d.time/am⟧ alle 14:00 verrà sospesa l'erogazione dell'acqua per lavori di manutenzione a cura di ⟦d.org⟧.

L'Amministrazione
""", clean=True)


# ===========================================================================
# DUTCH
# ===========================================================================
C("nl", "email", """
Onderwerp: Uw aanvraag ⟦d.ticket/case⟧

Geachte ⟦p1.hon⟧ ⟦p1.fam⟧,

Hierbij bevestigen wij dat het afleveradres van bestelling ⟦d.order⟧ is gewijzigd naar ⟦addr1⟧. De levering staat gepland op ⟦d.date/wd⟧.

Heeft u nog vragen? Bel ons op ⟦phone⟧.

Met vriendelijke groet,
⟦p2.full⟧
Klantenservice ⟦d.org⟧
""")

C("nl", "email", """
Hoi ⟦p1.given⟧,

kun jij ⟦d.ticket/jira⟧ vóór donderdag oppakken? ⟦p2.given⟧ is met vakantie tot ⟦d.date/short⟧ en ⟦p3.full⟧ gaat maandag naar ⟦city⟧ voor de klant.

Groetjes,
⟦p4.given⟧
""")

C("nl", "email", """
Van: ⟦p1.full⟧ <⟦p1.cemail⟧>
Verzonden: ⟦d.date/wd⟧ ⟦d.time⟧
Aan: ⟦p2.full⟧ <⟦p2.email⟧>
CC: ⟦p3.cemail⟧
Onderwerp: RE: Factuur ⟦d.invoice#i⟧

Beste ⟦p2.given⟧,

Factuur ⟦d.invoice#i⟧ van ⟦d.amount⟧ staat bij ons nog open. Kun je even nagaan of de betaling al klaarstaat?

Met vriendelijke groet,
⟦p1.full⟧
⟦p1.job⟧
""")

C("nl", "email", """
Prima, donderdagochtend komt goed uit.

Groet,
⟦p1.given⟧

Op ⟦d.date/wd⟧ om ⟦d.time⟧ schreef ⟦p2.full⟧ <⟦p2.cemail⟧>:
> Goedemorgen,
> de monteur komt donderdag tussen 8 en 12 uur langs op ⟦addr1⟧.
> Werkbonnummer: ⟦d.order⟧
""")

C("nl", "ticket", """
Ticket ⟦d.ticket/hash⟧ – Contactformulier
Naam: ⟦p1.full⟧
E-mail: ⟦p1.email⟧
Telefoon: ⟦phone⟧

Bericht:
Goedendag, ik heb een ⟦d.model⟧ besteld (bestelnummer ⟦d.order⟧) maar die is op mijn oude adres bezorgd. Mijn nieuwe adres is ⟦addr1⟧. Kunnen jullie hem opnieuw versturen? Track & trace: ⟦d.tracking/postnl⟧.
Alvast bedankt
""")

C("nl", "ticket", """
Melding ⟦d.ticket/inc⟧
Melder: ⟦p1.full⟧ (⟦p1.cemail⟧) – vestiging ⟦city⟧, ⟦d.room⟧
Behandelaar: ⟦p2.full⟧
Samenvatting: laptop start niet op na update ⟦d.version⟧
Details: ⟦d.model⟧, assetnummer ⟦d.part/plain⟧.
Notitie: ⟦p1.given⟧ niet bereikt op ⟦phone⟧, morgen opnieuw proberen.
""")

C("nl", "chat", """
kun je me helpen een mail te schrijven aan ⟦p1.g:mijn huisbaas¦mijn huisbazin⟧ ⟦p1.lower⟧? de verwarming op ⟦addr1|lower⟧ doet het al niet sinds ⟦d.date/short⟧ en ⟦p1.g:hij¦ze⟧ reageert niet. ik betaal wel ⟦d.amount⟧ per maand. beleefd maar duidelijk aub
""")

C("nl", "chat", """
Schrijf een motivatiebrief voor een baan als verpleegkundige in ⟦city⟧. Ik ben ⟦p1.full⟧, geboren op ⟦dob⟧, en woon op ⟦addr1⟧. Tel. ⟦phone⟧, mail ⟦p1.email⟧. Vacaturenummer ⟦d.ticket/case⟧.
""")

C("nl", "log", """
⟦d.ts⟧ INFO  [login] gebruiker ⟦p1.email⟧ ingelogd vanaf ⟦ip⟧
⟦d.ts⟧ WARN  [bezorging] onvolledig adres bij order ⟦d.order⟧: "⟦street⟧"
⟦d.ts⟧ INFO  [facturatie] factuur ⟦d.invoice⟧ verstuurd naar ⟦p2.full⟧
⟦d.ts⟧ ERROR [betaling] iDEAL-transactie mislukt, status ⟦d.status⟧
""")

C("nl", "csv", """
klantnummer;naam;woonplaats;telefoon;lid sinds
⟦d.cust⟧;⟦p1.full⟧;⟦city⟧;⟦phone⟧;⟦d.date/num⟧
⟦d.cust⟧;⟦p2.full⟧;⟦city⟧;⟦phone⟧;⟦d.date/num⟧
⟦d.cust⟧;⟦p3.full⟧;⟦city⟧;⟦phone⟧;⟦d.date/num⟧
⟦d.cust⟧;⟦p4.full⟧;⟦city@any⟧;⟦phone⟧;⟦d.date/num⟧
""")

C("nl", "form", """
INSCHRIJFFORMULIER
Achternaam: ⟦p1.family⟧
Voornaam: ⟦p1.given⟧
Geboortedatum: ⟦dob⟧
Adres: ⟦addr1⟧
Telefoon: ⟦phone⟧
E-mail: ⟦p1.email⟧
Noodcontact: ⟦p2.full⟧, ⟦phone⟧
Cursus: Yoga beginners, ⟦d.date/wd⟧ ⟦d.time⟧
""")

C("nl", "form", """
Doorlopende machtiging SEPA
Incassant ID: ⟦d.creditor⟧
Kenmerk machtiging: ⟦d.cust⟧
Naam: ⟦p1.full⟧
Adres: ⟦addr1⟧
IBAN: ⟦iban⟧
Plaats en datum: ⟦city⟧, ⟦d.date/num⟧
Handtekening:
""")

C("nl", "notes", """
Notulen teamoverleg ⟦d.date/num⟧ – ⟦d.room⟧
Aanwezig: ⟦p1.full⟧, ⟦p2.full⟧, ⟦p3.hon⟧ ⟦p3.fam⟧, ⟦p4.given⟧ (via ⟦d.product=Teams⟧ vanuit ⟦city⟧)
Afwezig met kennisgeving: ⟦p5.full⟧
Notulist: ⟦p2.init⟧

1. Overstap naar ⟦d.product⟧ uitgesteld tot juni.
2. Opleidingsbudget ⟦d.amount⟧ goedgekeurd; ⟦p1.given⟧ vraagt offertes op.
3. Teamuitje naar ⟦city⟧ op ⟦d.date/short⟧.
Actiepunt: ⟦p3.fam⟧ stuurt de planning rond.
""")

C("nl", "shipping", """
PAKBON ⟦d.order⟧
Vervoerder: ⟦d.org=PostNL⟧ – barcode ⟦d.tracking/postnl⟧
Verzenddatum: ⟦d.date/num⟧

Afleveradres:
⟦p1.full⟧
⟦addrmlc⟧

Aantal colli: ⟦d.qty⟧ – ⟦d.model⟧
Totaal: ⟦d.amount⟧
""")

C("nl", "shipping", """
Bezorginstructie order ⟦d.order⟧: niet thuis? Afgeven bij de buren, ⟦p2.hon⟧ ⟦p2.fam⟧ op ⟦addr1⟧. Bel ⟦p1.given⟧ even op ⟦phone⟧. Tijdvak ⟦d.date/wd⟧ ⟦d.time⟧-21:00.
""")

C("nl", "email", """
Hoi allemaal,

Vanaf ⟦d.date/wd⟧ versterkt ⟦p1.full⟧ ons team als ⟦p1.job⟧. ⟦p1.given⟧ komt uit ⟦city⟧ en werkte hiervoor bij ⟦d.org⟧.

⟦p2.full⟧ is de eerste weken ⟦p1.g:zijn¦haar⟧ buddy. Werkplek: ⟦d.room⟧.

Groet,
⟦p3.full⟧ – HR
""")

C("nl", "email", """
Onderwerp: Automatisch antwoord: ⟦d.ticket/jira⟧

Bedankt voor je bericht. Ik ben tot en met ⟦d.date/long⟧ afwezig. Voor dringende zaken kun je contact opnemen met ⟦p1.full⟧ (⟦p1.cemail⟧ of ⟦phone⟧).

Met vriendelijke groet,
⟦p2.full⟧
""")

C("nl", "email", """
Beste ⟦p1.given⟧,

Hierbij mijn gegevens voor het terugstorten van de borg van ⟦street⟧:
Naam: ⟦p2.full⟧
IBAN: ⟦iban⟧

De sleutels heb ik op ⟦d.date/num⟧ aan ⟦p3.given⟧ gegeven. Meterstand: ⟦d.qty/n⟧ kWh.

Groetjes,
⟦p2.given⟧
""")

C("nl", "email", """
Boekingsbevestiging ⟦d.booking⟧

Reiziger: ⟦p1.hon⟧ ⟦p1.full⟧
Heenvlucht: ⟦d.flight⟧ – ⟦d.date/wd⟧ om ⟦d.time⟧
Hotel: ⟦d.org=Hotel De Zwaan⟧, ⟦addr1@any⟧
Totaalbedrag: ⟦d.amount⟧

Goede reis!
""")

C("nl", "email", """
Geachte heer/mevrouw,

Al drie weken wordt het afval bij ⟦street⟧ niet opgehaald. Ik heb dit op ⟦d.date/num⟧ gemeld (meldingsnummer ⟦d.ticket/case⟧), maar er is niets gebeurd.

Met vriendelijke groet,
⟦p1.full⟧
""")

C("nl", "email", """
Onderwerp: Verzoek tot verwijdering persoonsgegevens (AVG art. 17)

Ik, ⟦p1.full⟧, geboren op ⟦dob⟧, verzoek u alle persoonsgegevens die u van mij verwerkt te verwijderen. Klantnummer: ⟦d.cust⟧, e-mailadres: ⟦p1.email⟧, oud adres: ⟦addr1⟧.

Met vriendelijke groet,
⟦p1.full⟧
""")

C("nl", "chat", """
hee, ⟦p1.g:mn vriend¦mn vriendin⟧ ⟦p1.glower⟧ uit ⟦city|lower⟧ komt dit weekend, leuke uitjes in ⟦region⟧? we hebben een auto en zo'n ⟦d.amount⟧ budget
""")

C("nl", "email", """
Hoi ⟦p1.given⟧,

Leuk je gesproken te hebben op de ⟦d.product⟧ meetup! Hierbij de slides zoals beloofd.

Groet,
⟦p2.full⟧
⟦p2.job⟧
⟦p2.url⟧ | ⟦phone⟧
""")

C("nl", "notes", """
Belnotitie ⟦d.date/num⟧ – ⟦p1.full⟧ (⟦d.org⟧)
- Beslisser: ⟦p2.hon⟧ ⟦p2.fam⟧ (CFO), kantoor ⟦city⟧
- Budget ca. ⟦d.amount⟧, pilot met ⟦d.qty/n⟧ gebruikers
- Offerte ⟦d.quote⟧ vóór vrijdag sturen; mobiel ⟦p1.given⟧: ⟦phone⟧
""")

C("nl", "email", """
Beste ⟦p1.hon⟧ ⟦p1.fam⟧,

In bijlage vindt u de offerte ⟦d.quote⟧ voor de renovatie van de badkamer op ⟦addr1@be_nl⟧. De werken kunnen starten op ⟦d.date/wd⟧.

Met vriendelijke groeten,
⟦p2.full⟧
⟦d.org⟧ – ⟦phone@be_nl⟧
""", country="be_nl")

C("nl", "chat", """
kun je dit netter maken? "Beste buren, op zaterdag ⟦d.date/short⟧ geven wij een feestje op ⟦street⟧. Vragen? Bel ⟦p1.given⟧ op ⟦phone⟧. Groetjes, ⟦p1.given⟧ en ⟦p2.given⟧"
""")

# ---- Dutch, no personal data ---------------------------------------------
C("nl", "email", """
Nieuw in ⟦d.product⟧ ⟦d.version⟧ – ⟦d.date/long⟧

• Export van creditnota's naar de boekhouding
• Sneller zoeken in bijlagen
• Opgelost: verkeerde afronding bij bedragen boven ⟦d.amount⟧ (⟦d.ticket/jira⟧)

De update wordt vanaf maandag automatisch uitgerold.
""", clean=True)

C("nl", "shipping", """
Bedankt voor je bestelling ⟦d.order⟧!

Artikel: ⟦d.model⟧ – ⟦d.qty⟧
Subtotaal: ⟦d.amount⟧
Verzending: gratis
Verwachte levering: ⟦d.date/wd⟧

Track & trace: ⟦d.tracking/postnl⟧.
""", clean=True)

C("nl", "email", """
Betalingsherinnering factuur ⟦d.invoice#i⟧

Geachte klant,

Volgens onze administratie is factuur ⟦d.invoice#i⟧ van ⟦d.amount⟧, vervallen op ⟦d.date/num⟧, nog niet voldaan. Wilt u het bedrag binnen 7 dagen overmaken onder vermelding van het factuurnummer?

Afdeling Debiteuren
⟦d.org⟧
""", clean=True)

C("nl", "log", """
⟦d.ts⟧ [INFO] nachtelijke verwerking gestart (job ⟦d.uuid⟧)
⟦d.ts⟧ [WARN] verbinding geweigerd op poort ⟦d.port⟧, nieuwe poging over 30 s
⟦d.ts⟧ [ERROR] export mislukt: HTTP ⟦d.status⟧ na ⟦d.duration⟧
⟦d.ts⟧ [INFO] verwerking klaar, ⟦d.qty/n⟧ records
""", clean=True)

C("nl", "notes", """
Directieoverleg ⟦d.date/wd⟧ – ⟦d.room⟧
Aanwezig: Directie, Financiën, HR
1. Omzet maart: ⟦d.amount⟧
2. Beurs in mei: stand van 24 m², budget ⟦d.amount⟧
3. Nieuwe prijslijst ⟦d.version⟧ per ⟦d.date/short⟧
Volgend overleg: dinsdag ⟦d.time⟧
""", clean=True)

C("nl", "chat", """
wat is het verschil tussen ⟦d.product⟧ en ⟦d.product⟧ voor een team van ⟦d.qty/n⟧ mensen? we zitten nog op ⟦d.version⟧ en het contract loopt in mei af
""", clean=True)

C("nl", "csv", """
artikelnummer;omschrijving;aantal;stukprijs;locatie
⟦d.part/ssn⟧;Zeskantbout M8x40;⟦d.qty/n⟧;⟦d.amount/bare⟧;A4
⟦d.part/phone⟧;Wartel M20;⟦d.qty/n⟧;⟦d.amount/bare⟧;B7
⟦d.sku⟧;Relais 24 V;⟦d.qty/n⟧;⟦d.amount/bare⟧;C2
""", clean=True)

C("nl", "ticket", """
Ticket ⟦d.ticket/jira⟧: betalen geeft foutcode ⟦d.status⟧ op mobiel
Omgeving: productie, versie ⟦d.version⟧, build ⟦d.commit/short⟧
Stappen: ⟦d.sku⟧ in winkelwagen, bevestigen, betalen met iDEAL
Resultaat: foutpagina na ⟦d.duration⟧. Ongeveer ⟦d.percent⟧ van de sessies sinds maandag.
""", clean=True)

C("nl", "notes", """
Mededeling aan de bewoners

Op ⟦d.date/wd⟧ wordt van ⟦d.time/am⟧ tot 14:00 uur het water afgesloten vanwege onderhoud door ⟦d.org⟧.

De VvE-beheerder
""", clean=True)


# ===========================================================================
# PORTUGUESE (Portugal and Brazil)
# ===========================================================================
C("pt", "email", """
Assunto: O seu pedido n.º ⟦d.ticket/case⟧

⟦p1.g:Exmo. Senhor¦Exma. Senhora⟧ ⟦p1.full⟧,

Confirmamos que a morada de entrega da encomenda ⟦d.order⟧ foi alterada para ⟦addr1⟧. A entrega está prevista para ⟦d.date/wd⟧.

Para qualquer esclarecimento, contacte-nos através do ⟦phone⟧.

Com os melhores cumprimentos,
⟦p2.full⟧
Apoio ao Cliente – ⟦d.org⟧
""", country="pt")

C("pt", "email", """
⟦p1.g:Prezado¦Prezada⟧ ⟦p1.hon⟧ ⟦p1.fam⟧,

Informamos que o endereço de entrega do pedido ⟦d.order⟧ foi atualizado para ⟦addr1⟧. A previsão de entrega é ⟦d.date/wd⟧.

Em caso de dúvidas, ligue para ⟦phone⟧.

Atenciosamente,
⟦p2.full⟧
Central de Atendimento – ⟦d.org⟧
""", country="br")

C("pt", "email", """
Olá ⟦p1.given⟧,

Consegues ver o ticket ⟦d.ticket/jira⟧ até quinta? ⟦p2.g:O¦A⟧ ⟦p2.given⟧ está de férias até ⟦d.date/short⟧ e ⟦p3.g:o¦a⟧ ⟦p3.full⟧ vai a ⟦city⟧ na segunda.

Abraço,
⟦p4.given⟧
""", country="pt")

C("pt", "email", """
Oi ⟦p1.given⟧, tudo bem?

Você consegue revisar a proposta ⟦d.quote⟧ até sexta? ⟦p2.g:O¦A⟧ ⟦p2.given⟧ pediu para mandar para o cliente em ⟦city⟧ ainda esta semana.

Valeu!
⟦p3.given⟧
""", country="br")

C("pt", "email", """
De: ⟦p1.full⟧ <⟦p1.cemail⟧>
Enviada: ⟦d.date/wd⟧ ⟦d.time⟧
Para: ⟦p2.full⟧ <⟦p2.email⟧>
Cc: ⟦p3.cemail⟧
Assunto: RE: Fatura ⟦d.invoice#i⟧

Bom dia ⟦p2.given⟧,

A fatura ⟦d.invoice#i⟧ no valor de ⟦d.amount⟧ continua por liquidar. Pode confirmar com a contabilidade?

Cumprimentos,
⟦p1.full⟧
⟦p1.job⟧
""", country="pt")

C("pt", "email", """
Perfeito, terça de manhã funciona.

Abs,
⟦p1.given⟧

Em ⟦d.date/wd⟧, às ⟦d.time⟧, ⟦p2.full⟧ <⟦p2.cemail⟧> escreveu:
> Bom dia,
> O técnico vai passar no endereço ⟦addr1⟧ na terça entre 8h e 12h.
> Protocolo: ⟦d.order⟧
""", country="br")

C("pt", "ticket", """
Ticket ⟦d.ticket/hash⟧ – Formulário de contacto
Nome: ⟦p1.full⟧
Email: ⟦p1.email⟧
Telemóvel: ⟦phone⟧

Mensagem:
Boa tarde, encomendei uma ⟦d.model⟧ (encomenda ⟦d.order⟧) e foi entregue na morada antiga. A minha morada atual é ⟦addr1⟧. Podem reenviar? Seguimento: ⟦d.tracking/s10⟧.
Obrigad⟦p1.g:o¦a⟧
""", country="pt")

C("pt", "ticket", """
Chamado ⟦d.ticket/inc⟧
Solicitante: ⟦p1.full⟧ (⟦p1.cemail⟧) – filial ⟦city⟧, ⟦d.room⟧
Responsável: ⟦p2.full⟧
Resumo: notebook não liga após atualização ⟦d.version⟧
Detalhes: ⟦d.model⟧, patrimônio ⟦d.part/plain⟧.
Obs.: tentei ligar para ⟦p1.given⟧ no ⟦phone⟧, sem resposta.
""", country="br")

C("pt", "chat", """
me ajuda a escrever um email ⟦p1.g:pro dono¦pra dona⟧ do apê, ⟦p1.lower⟧? tem uma infiltração no banheiro do ⟦addr1|lower⟧ desde ⟦d.date/short⟧ e ⟦p1.g:ele¦ela⟧ não responde. pago ⟦d.amount⟧ de aluguel!! educado mas firme pfv
""", country="br")

C("pt", "chat", """
Escreve-me uma carta de apresentação para uma vaga de ⟦p1.g:enfermeiro¦enfermeira⟧ em ⟦city⟧. Chamo-me ⟦p1.full⟧, nasci a ⟦dob⟧ e moro em ⟦addr1⟧. Telemóvel ⟦phone⟧, email ⟦p1.email⟧. Referência do anúncio: ⟦d.ticket/case⟧.
""", country="pt")

C("pt", "log", """
⟦d.ts⟧ INFO  [login] utilizador ⟦p1.email⟧ autenticado a partir de ⟦ip⟧
⟦d.ts⟧ WARN  [envios] morada incompleta na encomenda ⟦d.order⟧: "⟦street⟧"
⟦d.ts⟧ INFO  [faturação] fatura ⟦d.invoice⟧ enviada para ⟦p2.full⟧
⟦d.ts⟧ ERROR [pagamentos] MB WAY recusado, código ⟦d.status⟧
""", country="pt")

C("pt", "csv", """
id;nome_completo;cidade;celular;data_cadastro
⟦d.cust⟧;⟦p1.full⟧;⟦city⟧;⟦phone⟧;⟦d.date/num⟧
⟦d.cust⟧;⟦p2.full⟧;⟦city⟧;⟦phone⟧;⟦d.date/num⟧
⟦d.cust⟧;⟦p3.full⟧;⟦city⟧;⟦phone⟧;⟦d.date/num⟧
⟦d.cust⟧;⟦p4.full⟧;⟦city⟧;⟦phone⟧;⟦d.date/num⟧
""", country="br")

C("pt", "form", """
FICHA CADASTRAL
Nome completo: ⟦p1.full⟧
Data de nascimento: ⟦dob⟧
Endereço: ⟦addr1⟧
Celular: ⟦phone⟧
E-mail: ⟦p1.email⟧
Contato de emergência: ⟦p2.full⟧ – ⟦phone⟧
Plano: Academia mensal, início ⟦d.date/num⟧, matrícula ⟦d.cust⟧
""", country="br")

C("pt", "form", """
Autorização de Débito Direto SEPA
Identificação do credor: ⟦d.creditor⟧
Referência da autorização: ⟦d.cust⟧
Nome do devedor: ⟦p1.full⟧
Morada: ⟦addr1⟧
IBAN: ⟦iban⟧
Local e data: ⟦city⟧, ⟦d.date/num⟧
Assinatura:
""", country="pt")

C("pt", "notes", """
Ata da reunião de ⟦d.date/num⟧ – ⟦d.room⟧
Presentes: ⟦p1.full⟧, ⟦p2.full⟧, ⟦p3.hon⟧ ⟦p3.fam⟧, ⟦p4.given⟧ (por videochamada a partir de ⟦city⟧)
Ausente: ⟦p5.full⟧

1. Migração para ⟦d.product⟧ adiada para junho.
2. Orçamento de formação de ⟦d.amount⟧ aprovado; ⟦p1.given⟧ pede propostas.
3. Jantar de equipa em ⟦city⟧ a ⟦d.date/short⟧.
Próxima reunião: ⟦d.date/wd⟧
""", country="pt")

C("pt", "shipping", """
Pedido ⟦d.order⟧ – Etiqueta de envio
Transportadora: ⟦d.org=Correios⟧ – rastreio ⟦d.tracking/s10⟧

Destinatário:
⟦p1.full⟧
⟦addrmlc⟧
Tel.: ⟦phone⟧

Volumes: ⟦d.qty⟧ – ⟦d.model⟧
Valor declarado: ⟦d.amount⟧
""", country="br")

C("pt", "shipping", """
Entrega da encomenda ⟦d.order⟧: tocar à campainha ⟦p1.family|upper⟧. Se não estiver ninguém, deixar com ⟦p2.g:o vizinho¦a vizinha⟧, ⟦p2.hon⟧ ⟦p2.fam⟧, em ⟦addr1⟧. Contacto: ⟦phone⟧. Janela: ⟦d.date/wd⟧ ⟦d.time/am⟧-13:00.
""", country="pt")

C("pt", "email", """
Olá, pessoal!

Damos as boas-vindas a ⟦p1.full⟧, que começa ⟦d.date/wd⟧ como ⟦p1.job⟧. ⟦p1.given⟧ vem de ⟦city⟧ e trabalhava na ⟦d.org⟧.

Nas primeiras semanas, ⟦p2.g:o padrinho¦a madrinha⟧ será ⟦p2.full⟧. Estação de trabalho: ⟦d.room⟧.

Abraços,
⟦p3.full⟧ – RH
""", country="br")

C("pt", "email", """
Assunto: Resposta automática: ⟦d.ticket/jira⟧

Obrigado pela sua mensagem. Estarei ausente até ⟦d.date/long⟧. Para assuntos urgentes, contacte ⟦p1.full⟧ (⟦p1.cemail⟧ / ⟦phone⟧).

Atenciosamente,
⟦p2.full⟧
""")

C("pt", "email", """
Olá ⟦p1.given⟧,

Seguem os meus dados para a devolução da caução do apartamento na ⟦street⟧:
Titular: ⟦p2.full⟧
IBAN: ⟦iban⟧

Entreguei as chaves ⟦p3.g:ao¦à⟧ ⟦p3.given⟧ a ⟦d.date/num⟧.

Obrigad⟦p2.g:o¦a⟧,
⟦p2.given⟧
""", country="pt")

C("pt", "email", """
Confirmação de reserva ⟦d.booking⟧

Passageiro: ⟦p1.hon⟧ ⟦p1.full⟧
Voo de ida: ⟦d.flight⟧ – ⟦d.date/wd⟧ às ⟦d.time⟧
Hotel: ⟦d.org=Hotel Atlântico⟧, ⟦addr1@any⟧
Total: ⟦d.amount⟧

Boa viagem!
""")

C("pt", "email", """
Prezados,

Há três semanas o lixo não é recolhido na ⟦street⟧. Já registrei a reclamação em ⟦d.date/num⟧ (protocolo ⟦d.ticket/case⟧) e nada mudou.

Atenciosamente,
⟦p1.full⟧
""", country="br")

C("pt", "email", """
Assunto: Solicitação de exclusão de dados (LGPD, art. 18)

Eu, ⟦p1.full⟧, nascid⟦p1.g:o¦a⟧ em ⟦dob⟧, residente em ⟦addr1⟧, solicito a exclusão de todos os meus dados pessoais. Número de cliente: ⟦d.cust⟧. E-mail: ⟦p1.email⟧.

⟦p1.full⟧
""", country="br")

C("pt", "chat", """
oii ⟦p1.g:meu amigo¦minha amiga⟧ ⟦p1.glower⟧ de ⟦city|lower⟧ vem no fds, q passeios vc recomenda em ⟦region⟧? temos carro e uns ⟦d.amount⟧ de orçamento
""", country="br")

C("pt", "email", """
Olá ⟦p1.given⟧,

Foi um prazer conhecer-te no meetup de ⟦d.product⟧! Envio os slides como prometido.

Cumprimentos,
⟦p2.full⟧
⟦p2.job⟧ | ⟦d.org⟧
⟦p2.url⟧
""", country="pt")

C("pt", "notes", """
Ligação ⟦d.date/num⟧ – ⟦p1.full⟧ (⟦d.org⟧)
- Quem decide: ⟦p2.hon⟧ ⟦p2.fam⟧, ⟦p2.g:diretor financeiro¦diretora financeira⟧, em ⟦city⟧
- Orçamento aprox. ⟦d.amount⟧; piloto com ⟦d.qty/n⟧ usuários
- Enviar proposta ⟦d.quote⟧ até sexta; celular de ⟦p1.given⟧: ⟦phone⟧
""", country="br")

C("pt", "chat", """
pode corrigir este texto? "Exmos. Senhores, venho por este meio informar que mudei de morada. A nova morada é ⟦addr1⟧. Os restantes dados mantêm-se (NIF no processo ⟦d.ticket/case⟧). Cumprimentos, ⟦p1.full⟧"
""", country="pt")

# ---- Portuguese, no personal data ----------------------------------------
C("pt", "email", """
Novidades do ⟦d.product⟧ ⟦d.version⟧ – ⟦d.date/long⟧

• Exportação de notas de crédito para a contabilidade
• Pesquisa mais rápida nos anexos
• Corrigido: arredondamento errado em valores acima de ⟦d.amount⟧ (⟦d.ticket/jira⟧)

A atualização será instalada automaticamente a partir de segunda-feira.
""", clean=True)

C("pt", "shipping", """
Obrigado pelo seu pedido ⟦d.order⟧!

Produto: ⟦d.model⟧ – ⟦d.qty⟧
Subtotal: ⟦d.amount⟧
Frete: grátis
Previsão de entrega: ⟦d.date/wd⟧

Código de rastreio: ⟦d.tracking/s10⟧.
""", clean=True, country="br")

C("pt", "email", """
Lembrete de pagamento – fatura ⟦d.invoice#i⟧

Caro cliente,

De acordo com os nossos registos, a fatura ⟦d.invoice#i⟧ no valor de ⟦d.amount⟧, vencida a ⟦d.date/num⟧, ainda não foi paga. Agradecemos a regularização no prazo de 7 dias.

Departamento Financeiro
⟦d.org⟧
""", clean=True, country="pt")

C("pt", "log", """
⟦d.ts⟧ [INFO] processamento noturno iniciado (tarefa ⟦d.uuid⟧)
⟦d.ts⟧ [WARN] ligação recusada na porta ⟦d.port⟧, nova tentativa em 30 s
⟦d.ts⟧ [ERROR] exportação falhou: HTTP ⟦d.status⟧ após ⟦d.duration⟧
⟦d.ts⟧ [INFO] processamento concluído, ⟦d.qty/n⟧ registos
""", clean=True)

C("pt", "notes", """
Reunião de diretoria – ⟦d.date/wd⟧, ⟦d.room⟧
Presentes: Diretoria, Financeiro, Recursos Humanos
1. Faturamento de março: ⟦d.amount⟧
2. Feira em maio: estande de 24 m², orçamento ⟦d.amount⟧
3. Nova tabela de preços ⟦d.version⟧ a partir de ⟦d.date/short⟧
Próxima reunião: terça às ⟦d.time⟧
""", clean=True, country="br")

C("pt", "chat", """
qual a diferença entre ⟦d.product⟧ e ⟦d.product⟧ pra uma equipe de ⟦d.qty/n⟧ pessoas? ainda estamos na ⟦d.version⟧ e o contrato vence em maio
""", clean=True)

C("pt", "csv", """
referencia;descricao;quantidade;preco_unitario;localizacao
⟦d.part/ssn⟧;Parafuso sextavado M8x40;⟦d.qty/n⟧;⟦d.amount/bare⟧;A4
⟦d.part/phone⟧;Bucim M20;⟦d.qty/n⟧;⟦d.amount/bare⟧;B7
⟦d.sku⟧;Relé 24 V;⟦d.qty/n⟧;⟦d.amount/bare⟧;C2
""", clean=True)

C("pt", "ticket", """
Ticket ⟦d.ticket/jira⟧: pagamento devolve erro ⟦d.status⟧ no telemóvel
Ambiente: produção, versão ⟦d.version⟧, build ⟦d.commit/short⟧
Passos: adicionar ⟦d.sku⟧ ao carrinho, confirmar, pagar
Resultado: página de erro após ⟦d.duration⟧. Cerca de ⟦d.percent⟧ das sessões desde segunda.
""", clean=True)

C("pt", "notes", """
Aviso aos condóminos

No dia ⟦d.date/wd⟧ o abastecimento de água será interrompido entre as ⟦d.time/am⟧ e as 14:00 para manutenção pela ⟦d.org⟧.

A Administração do Condomínio
""", clean=True, country="pt")


# ===========================================================================
# DEVELOPER MESSAGES (code, configs, logs; prose/comments localized via ⟦L:⟧)
# ===========================================================================
_DEV = []


def DV(text, clean=False, name=None):
    c = {"lang": "*", "kind": "dev", "text": text.strip("\n"), "clean": clean, "country": None}
    c["name"] = name or f"dev-{len(_DEV) + 1:02d}"
    _DEV.append(c)
    return c


DV(r"""
⟦L:ask_review⟧

# .env  (⟦L:c_prod⟧)
APP_ENV=production
APP_PORT=⟦d.port⟧
DATABASE_URL=⟦db_pg⟧
REDIS_URL=⟦db_redis⟧
STRIPE_SECRET_KEY=⟦stripe_live⟧
STRIPE_PUBLISHABLE_KEY=⟦d.pk⟧
OPENAI_API_KEY=⟦openai⟧
SENTRY_ENVIRONMENT=production
""")

DV(r"""
⟦L:ask_fail⟧ `aws s3 ls` → SignatureDoesNotMatch

$ cat ~/.aws/credentials
[default]
aws_access_key_id = ⟦aws_akid⟧
aws_secret_access_key = ⟦aws_secret⟧
region = eu-west-1

[staging]
aws_access_key_id = ⟦aws_akid⟧
aws_secret_access_key = ⟦aws_secret⟧

$ aws --version
aws-cli/⟦d.version⟧ Python/3.11.6 Linux/6.5.0-1014-aws exe/x86_64
""")

DV(r"""
⟦L:ask_fail⟧

services:
  db:
    image: postgres:16@⟦d.digest⟧
    environment:
      POSTGRES_USER: shop
      POSTGRES_PASSWORD: ⟦pw_safe⟧
      POSTGRES_DB: shop
    ports:
      - "⟦d.port⟧:5432"
  api:
    image: registry.gitlab.com/acme/shop-api:⟦d.version⟧
    environment:
      DATABASE_URL: ⟦db_pg⟧
      JWT_SECRET: ⟦generic⟧
    depends_on: [db]
""")

DV(r"""
⟦L:ask_fail⟧ google.auth.exceptions.RefreshError: ('invalid_grant: Invalid JWT Signature.')

{
  "type": "service_account",
  "project_id": "⟦gcp_project⟧",
  "private_key_id": "⟦d.keyid⟧",
  "private_key": "⟦pem_json⟧\n",
  "client_email": "⟦sa_email⟧",
  "client_id": "⟦d.clientid⟧",
  "auth_uri": "https://accounts.google.com/o/oauth2/auth",
  "token_uri": "https://oauth2.googleapis.com/token",
  "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
  "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/⟦sa_email_enc⟧",
  "universe_domain": "googleapis.com"
}
""")

DV(r'''
⟦L:ask_error⟧

```python
from openai import OpenAI

client = OpenAI(api_key="⟦openai⟧")  # ⟦L:c_tmp⟧
resp = client.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": "ping"}],
)
```

openai.RateLimitError: Error code: ⟦d.status=429⟧ - {'error': {'message': 'You exceeded your current quota, please check your plan and billing details.', 'type': 'insufficient_quota'}}
''')

DV(r"""
⟦L:ask_fail⟧

curl https://api.anthropic.com/v1/messages \
  -H "x-api-key: ⟦anthropic⟧" \
  -H "anthropic-version: ⟦d.version=2023-06-01⟧" \
  -H "content-type: application/json" \
  -d '{"model": "claude-3-5-sonnet-20241022", "max_tokens": 256, "messages": [{"role": "user", "content": "Hello"}]}'

{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}
""")

DV(r"""
⟦L:ask_explain⟧

curl https://api.stripe.com/v1/payment_intents \
  -u ⟦stripe_test⟧: \
  -d amount=⟦d.qty/n⟧00 \
  -d currency=eur \
  -d "automatic_payment_methods[enabled]"=true

→ HTTP ⟦d.status=200⟧, "id": "pi_3P0x...", "status": "requires_payment_method"
""")

DV(r"""
⟦L:ask_error⟧

Traceback (most recent call last):
  File "/srv/app/manage.py", line ⟦d.line⟧, in <module>
    main()
  File "/srv/app/.venv/lib/python3.11/site-packages/sqlalchemy/engine/base.py", line ⟦d.line⟧, in __init__
    self._dbapi_connection = engine.raw_connection()
  File "/srv/app/.venv/lib/python3.11/site-packages/psycopg2/__init__.py", line ⟦d.line⟧, in connect
    conn = _connect(dsn, connection_factory=connection_factory, **kwasync)
sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at "db.internal" (⟦ipp⟧), port ⟦d.port=5432⟧ failed: FATAL:  password authentication failed for user "app"

# settings.py
SQLALCHEMY_DATABASE_URI = "⟦db_pg⟧"
""")

DV(r"""
⟦L:ask_error⟧

spring.datasource.url=⟦db_jdbc⟧

⟦d.ts⟧ ERROR 1 --- [           main] com.zaxxer.hikari.pool.HikariPool        : HikariPool-1 - Exception during pool initialization.
org.postgresql.util.PSQLException: FATAL: database "billing" does not exist
	at org.postgresql.core.v3.ConnectionFactoryImpl.doAuthentication(ConnectionFactoryImpl.java:⟦d.line⟧)
	at org.postgresql.core.v3.ConnectionFactoryImpl.tryConnect(ConnectionFactoryImpl.java:⟦d.line⟧)
	at org.postgresql.jdbc.PgConnection.<init>(PgConnection.java:⟦d.line⟧)
	at com.zaxxer.hikari.pool.PoolBase.newConnection(PoolBase.java:⟦d.line⟧)
""")

DV(r"""
⟦L:ask_explain⟧

// config/production.js – ⟦L:c_prod⟧
module.exports = {
  port: ⟦d.port⟧,
  mongoUri: '⟦db_mongo⟧',
  slack: {
    botToken: '⟦slack_bot⟧',
    signingSecret: '⟦generic_hex⟧',
  },
  sentryRelease: '⟦d.commit/short⟧',
};
""")

DV(r"""
⟦L:ask_review⟧

name: release
on:
  push:
    tags: ['v*']
jobs:
  publish:
    runs-on: ubuntu-22.04
    steps:
      - uses: actions/checkout@v4
      - run: gh release create ${{ github.ref_name }} --notes "Release ⟦d.version⟧"
        env:
          GH_TOKEN: ⟦ghp⟧   # ⟦L:c_tmp⟧
          NPM_TOKEN: ⟦d.ph=${{ secrets.NPM_TOKEN }}⟧
""")

DV(r"""
⟦L:ask_fail⟧

$ git remote -v
origin	https://oauth2:⟦gl_token#t⟧@gitlab.com/acme-group/backend.git (fetch)
origin	https://oauth2:⟦gl_token#t⟧@gitlab.com/acme-group/backend.git (push)
infra	https://deploy:⟦pw_url⟧@git.example-corp.internal/infra/ansible.git (fetch)
$ git push origin main
remote: HTTP Basic: Access denied. The provided password or token is incorrect or your account has 2FA enabled.
fatal: Authentication failed for 'https://gitlab.com/acme-group/backend.git/'
$ git --version
git version ⟦d.version⟧
""")

DV(r"""
⟦L:ask_review⟧

apiVersion: v1
kind: Secret
metadata:
  name: billing-db
  namespace: billing
  labels:
    app.kubernetes.io/version: "⟦d.version⟧"
type: Opaque
stringData:
  DB_HOST: pg-primary.billing.svc.cluster.local
  DB_USER: billing
  DB_PASSWORD: "⟦pw⟧"
  STRIPE_WEBHOOK_SECRET: "⟦stripe_whsec⟧"
""")

DV(r"""
⟦L:ask_fail⟧

# application.properties
server.port=⟦d.port⟧
spring.datasource.url=jdbc:mysql://mysql.prod.internal:3306/orders?useSSL=true
spring.datasource.username=orders_rw
spring.datasource.password=⟦pw⟧
spring.mail.host=smtp.mailgun.org
spring.mail.username=smtp-relay
spring.mail.password=⟦pw⟧
""", name="dev-spring-props")

DV(r"""
⟦L:ask_convert⟧

{
  "ConnectionStrings": {
    "Default": "⟦db_ado⟧",
    "Storage": "⟦azure_storage⟧"
  },
  "ServiceBus": { "ConnectionString": "⟦azure_sb⟧" },
  "Logging": { "LogLevel": { "Default": "Information" } },
  "AllowedHosts": "*",
  "Version": "⟦d.version⟧"
}
""")

DV(r"""
⟦L:ask_review⟧

provider "aws" {
  region     = "eu-central-1"
  access_key = "⟦aws_akid⟧"
  secret_key = "⟦aws_secret⟧"
}

terraform {
  required_version = ">= ⟦d.version⟧"
}
""")

DV(r"""
#!/usr/bin/env bash
# notify.sh – ⟦L:c_tmp⟧
WEBHOOK="⟦slack_hook⟧"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' https://shop.example.com/health)
if [ "$STATUS" != "⟦d.status=200⟧" ]; then
  curl -X POST -H 'Content-type: application/json' \
    --data "{\"text\":\"Health check failed: $STATUS\"}" "$WEBHOOK"
fi

⟦L:ask_explain⟧
""")

DV(r"""
⟦L:ask_error⟧

GET /api/v2/orders?page=2 HTTP/1.1
Host: api.shop-backend.io
Authorization: Bearer ⟦jwt⟧
Accept: application/json
X-Request-Id: ⟦d.uuid⟧

HTTP/1.1 ⟦d.status=401⟧ Unauthorized
WWW-Authenticate: Bearer error="invalid_token", error_description="The token expired"
""")

DV(r"""
⟦L:ask_fail⟧ Load key "deploy_key": bad permissions

$ cat deploy_key
⟦pem_openssh⟧
$ ls -l deploy_key
-rw-r--r-- 1 ubuntu ubuntu 411 ⟦d.date/short⟧ deploy_key
""")

DV(r"""
⟦L:ask_fail⟧ "Error establishing a database connection"

// ** MySQL settings ** //
define( 'DB_NAME', 'wordpress' );
define( 'DB_USER', 'wpuser' );
define( 'DB_PASSWORD', '⟦pw⟧' );
define( 'DB_HOST', 'localhost:⟦d.port=3306⟧' );
define( 'DB_CHARSET', 'utf8mb4' );

define( 'AUTH_KEY',         '⟦generic⟧' );
define( 'SECURE_AUTH_KEY',  '⟦generic⟧' );
""")

DV(r"""
⟦L:ask_review⟧

# settings/production.py
SECRET_KEY = '⟦django_key⟧'
DEBUG = False
ALLOWED_HOSTS = ['shop.example.com']

DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.postgresql',
        'NAME': 'shop',
        'USER': 'django',
        'PASSWORD': '⟦pw⟧',
        'HOST': 'db.internal',
        'PORT': '⟦d.port=5432⟧',
    }
}
""")

DV(r"""
⟦L:ask_fail⟧

# config/database.yml
production:
  adapter: postgresql
  encoding: unicode
  database: shop_production
  username: shop
  password: ⟦d.ph=<%= ENV["DB_PASSWORD"] %>⟧
  host: db.internal

staging:
  adapter: postgresql
  database: shop_staging
  username: shop
  password: "⟦pw⟧"   # ⟦L:c_tmp⟧
  host: staging-db.internal
  pool: ⟦d.qty/n⟧
""")

DV(r"""
⟦L:ask_explain⟧

# celeryconfig.py  (celery ⟦d.version⟧)
broker_url = "⟦db_redis⟧"
result_backend = "⟦db_redis⟧"
task_time_limit = 300
worker_prefetch_multiplier = 1
""")

DV(r"""
⟦L:ask_review⟧

package billing

import "github.com/stripe/stripe-go/⟦d.version=v76⟧"

func init() {
	stripe.Key = "⟦stripe_live⟧" // ⟦L:c_tmp⟧
}
""")

DV(r"""
⟦L:ask_leak⟧

⟦d.ts⟧ DEBUG http.client send: b'POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nAuthorization: Bearer ⟦openai⟧\r\nContent-Type: application/json\r\n'
⟦d.ts⟧ DEBUG http.client reply: 'HTTP/1.1 ⟦d.status=200⟧ OK'
⟦d.ts⟧ INFO  worker finished task ⟦d.uuid⟧ in ⟦d.duration⟧
""")

DV(r"""
⟦L:ask_fail⟧ pip install → ⟦d.status=401⟧ Unauthorized

$ cat ~/.config/pip/pip.conf
[global]
index-url = https://ci-bot:⟦pw_url⟧@nexus.internal.example.com/repository/pypi-group/simple
trusted-host = nexus.internal.example.com
timeout = 60
""")

DV(r"""
⟦L:ask_fail⟧

$ mongosh "⟦db_mongo⟧"
Current Mongosh Log ID:	⟦d.objectid⟧
Connecting to:		mongodb+srv://<credentials>@cluster0.mongodb.net/
MongoServerError: bad auth : authentication failed
$ mongosh --version
⟦d.version⟧
""")

DV(r"""
⟦L:ask_leak⟧

$ cat ~/.git-credentials
https://ci-deploy:⟦gh_fine⟧@github.com
https://oauth2:⟦gl_token⟧@gitlab.com
$ git --version
git version ⟦d.version⟧
""")

DV(r"""
⟦L:ask_review⟧

{
  "slack": {
    "bot_token": "⟦slack_bot⟧",
    "app_token": "⟦slack_app⟧",
    "channel": "#deploys"
  },
  "github": { "token": "⟦ghs⟧", "repo": "acme/shop" },
  "version": "⟦d.version⟧"
}
""")

DV(r'''
⟦L:ask_error⟧

import anthropic

client = anthropic.Anthropic(api_key="⟦anthropic⟧")
msg = client.messages.create(
    model="claude-3-5-haiku-20241022",
    max_tokens=⟦d.qty/n⟧,
    messages=[{"role": "user", "content": "Summarise this ticket"}],
)

anthropic.NotFoundError: Error code: ⟦d.status=404⟧ - {'type': 'error', 'error': {'type': 'not_found_error', 'message': 'model: claude-3-5-haiku'}}
''')

DV(r"""
⟦L:ask_fail⟧ Google Maps JavaScript API error: RefererNotAllowedMapError

<!-- build ⟦d.commit/short⟧ -->
<script async
  src="https://maps.googleapis.com/maps/api/js?key=⟦gcp_key⟧&callback=initMap&v=weekly">
</script>
""")

DV(r"""
⟦L:ask_fail⟧

// local.settings.json
{
  "IsEncrypted": false,
  "Values": {
    "AzureWebJobsStorage": "⟦azure_storage⟧",
    "FUNCTIONS_WORKER_RUNTIME": "dotnet-isolated",
    "ServiceBusConnection": "⟦azure_sb⟧"
  },
  "Host": { "LocalHttpPort": ⟦d.port⟧ }
}
""")

DV(r"""
⟦L:ask_convert⟧

docker run -d --name worker \
  -e AWS_ACCESS_KEY_ID=⟦aws_akid⟧ \
  -e AWS_SECRET_ACCESS_KEY=⟦aws_secret⟧ \
  -e AWS_DEFAULT_REGION=eu-west-1 \
  -p ⟦d.port⟧:8080 \
  ghcr.io/acme/worker@⟦d.digest⟧
""")

DV(r"""
⟦L:ask_review⟧

{
  "id": "⟦d.uuid⟧",
  "name": "Shop API – staging",
  "values": [
    { "key": "baseUrl", "value": "https://staging-api.shop-backend.io", "enabled": true },
    { "key": "client_id", "value": "shop-web", "enabled": true },
    { "key": "client_secret", "value": "⟦generic⟧", "enabled": true },
    { "key": "access_token", "value": "⟦jwt⟧", "enabled": true }
  ],
  "_postman_variable_scope": "environment",
  "_postman_exported_using": "Postman/⟦d.version⟧"
}
""")

DV(r"""
⟦L:ask_fail⟧ Webhook Error: No signatures found matching the expected signature for payload

const stripe = require('stripe')('⟦stripe_test⟧');
const endpointSecret = '⟦stripe_whsec⟧';

app.post('/webhook', express.raw({ type: 'application/json' }), (req, res) => {
  const sig = req.headers['stripe-signature'];
  let event;
  try {
    event = stripe.webhooks.constructEvent(req.body, sig, endpointSecret);
  } catch (err) {
    res.status(⟦d.status=400⟧).send(`Webhook Error: ${err.message}`);
    return;
  }
  res.json({ received: true });
});
""")

DV(r"""
⟦L:ask_review⟧

# values-prod.yaml
image:
  repository: ghcr.io/acme/api
  tag: "⟦d.version⟧"
postgresql:
  auth:
    username: api
    password: "⟦pw⟧"
    database: api
redis:
  auth:
    password: "⟦pw⟧"
ingress:
  hosts: [api.shop-backend.io]
""")

DV(r"""
⟦L:ask_explain⟧

⟦ip⟧ - - [⟦d.ts/clf⟧] "GET /api/health HTTP/1.1" ⟦d.status=200⟧ 17 "-" "kube-probe/1.29"
⟦ip⟧ - - [⟦d.ts/clf⟧] "GET /export/orders.csv?api_key=⟦generic⟧ HTTP/1.1" ⟦d.status=200⟧ 48213 "-" "python-requests/2.31.0"
⟦ipv6⟧ - - [⟦d.ts/clf⟧] "POST /login HTTP/2.0" ⟦d.status⟧ 512 "https://shop.example.com/" "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"
""")

DV(r"""
⟦L:ask_review⟧

# config.toml
[server]
bind = "localhost:⟦d.port⟧"

[database]
url = "⟦db_pg⟧"
pool_size = 10

[auth]
jwt_secret = "⟦generic⟧"
github_client_secret = "⟦generic_hex⟧"
""")

DV(r"""
⟦L:ask_leak⟧

commit ⟦d.commit⟧
Author: ⟦p1.full⟧ <⟦p1.cemail⟧>
Date:   ⟦d.ts/git⟧

    remove hardcoded credentials (⟦d.ticket/jira⟧)

diff --git a/config/settings.py b/config/settings.py
index ⟦d.commit/short⟧..⟦d.commit/short⟧ 100644
--- a/config/settings.py
+++ b/config/settings.py
@@ -⟦d.line⟧,7 +⟦d.line⟧,7 @@ import os
-AWS_ACCESS_KEY_ID = "⟦aws_akid⟧"
-AWS_SECRET_ACCESS_KEY = "⟦aws_secret⟧"
+AWS_ACCESS_KEY_ID = os.environ["AWS_ACCESS_KEY_ID"]
+AWS_SECRET_ACCESS_KEY = os.environ["AWS_SECRET_ACCESS_KEY"]
""")

DV(r"""
⟦L:ask_fail⟧

$ mysql -h db.internal -u root -p⟦pw_safe⟧ shop < dump.sql
mysql: [Warning] Using a password on the command line interface can be insecure.
ERROR ⟦d.errcode=1045⟧ (28000): Access denied for user 'root'@'⟦ipp⟧' (using password: YES)
""")

DV(r"""
⟦L:ask_fail⟧

$ PGPASSWORD='⟦pw⟧' psql -h db.internal -U app -d orders -c 'select count(*) from orders'
psql: error: connection to server at "db.internal" (⟦ipp⟧), port ⟦d.port=5432⟧ failed: timeout expired
""")

DV(r"""
⟦L:ask_fail⟧

$ curl -s -H "Authorization: token ⟦ghp⟧" "https://api.github.com/repos/acme/shop/actions/runs?per_page=⟦d.qty/n⟧"
{
  "message": "Bad credentials",
  "documentation_url": "https://docs.github.com/rest",
  "status": "⟦d.status=401⟧"
}
""")

DV(r"""
⟦L:ask_fail⟧ nginx: [emerg] SSL_CTX_use_PrivateKey("/etc/nginx/ssl/shop.key") failed (SSL: error:05800074:x509 certificate routines::key values mismatch)

$ cat /etc/nginx/ssl/shop.key
⟦pem_ec⟧
$ openssl version
OpenSSL ⟦d.version⟧
""")

DV(r'''
⟦L:ask_explain⟧

import jwt  # PyJWT ⟦d.version⟧

PRIVATE_KEY = """⟦pem_rsa⟧"""

token = jwt.encode({"sub": "svc-reporting", "exp": ⟦d.qty/n⟧}, PRIVATE_KEY, algorithm="RS256")
''')

DV(r"""
⟦L:ask_review⟧

// src/firebase.js
const firebaseConfig = {
  apiKey: "⟦gcp_key⟧",
  authDomain: "shop-app-prod.firebaseapp.com",
  projectId: "shop-app-prod",
  storageBucket: "shop-app-prod.appspot.com",
  messagingSenderId: "⟦d.senderid⟧",
  appId: "⟦d.fbappid⟧"
};
""")

DV(r"""
⟦L:fyi⟧

host: staging-01.internal
user: admin
password: ⟦pw_human⟧
VPN: ⟦d.product=OpenVPN⟧ profile from the wiki, port ⟦d.port⟧

⟦L:thanks⟧
""")

DV(r'''
⟦L:ask_error⟧

# requirements: azure-storage-blob==⟦d.version⟧
from azure.storage.blob import BlobServiceClient

conn_str = "⟦azure_storage⟧"
client = BlobServiceClient.from_connection_string(conn_str)
container = client.get_container_client("invoices")
container.upload_blob("test.txt", b"hello")

azure.core.exceptions.ClientAuthenticationError: Server failed to authenticate the request. ErrorCode:AuthenticationFailed
''')

DV(r"""
⟦L:ask_review⟧

# .gitlab-ci.yml
variables:
  DOCKER_DRIVER: overlay2
  GITLAB_TOKEN: "⟦gl_token⟧"   # ⟦L:c_tmp⟧

release:
  image: alpine:⟦d.version⟧
  script:
    - apk add --no-cache curl
    - 'curl --header "PRIVATE-TOKEN: $GITLAB_TOKEN" "https://gitlab.example.com/api/v4/projects/⟦d.qty/n⟧/releases"'
""")

DV(r"""
⟦L:ask_fail⟧

$ export SLACK_TOKEN=⟦slack_user⟧
$ python post_report.py --channel C0⟦d.qty/n⟧ --file report.pdf
slack_sdk.errors.SlackApiError: The request to the Slack API failed. (url: https://slack.com/api/files.upload)
The server responded with: {'ok': False, 'error': 'missing_scope', 'needed': 'files:write'}
""")

DV(r"""
⟦L:ask_explain⟧

$ env | grep -i aws
AWS_ACCESS_KEY_ID=⟦aws_asia⟧
AWS_SECRET_ACCESS_KEY=⟦aws_secret⟧
AWS_SESSION_TOKEN=⟦d.ph=IQoJb3JpZ2luX2VjE...(truncated)⟧
AWS_REGION=eu-central-1
$ aws sts get-caller-identity --query Arn
"arn:aws:sts::⟦d.awsacct⟧:assumed-role/ci-deploy/GitHubActions"
""")

DV(r"""
⟦L:ask_review⟧

# .env.local  (⟦L:c_local⟧)
NEXT_PUBLIC_STRIPE_KEY=⟦d.pk⟧
STRIPE_SECRET_KEY=⟦stripe_rk⟧
NEXTAUTH_SECRET=⟦generic⟧
GITHUB_ID=⟦d.ghclientid⟧
GITHUB_SECRET=⟦generic_hex⟧
DATABASE_URL="⟦db_mysql⟧"
""")

# ---- developer messages without secrets ----------------------------------
DV(r"""
⟦L:ask_clean⟧

# .env.example – copy to .env and fill in
# docs: ⟦d.url⟧
APP_PORT=⟦d.port⟧
DATABASE_URL=⟦d.ph=postgres://user:password@localhost:5432/app⟧
STRIPE_SECRET_KEY=⟦d.ph=sk_test_xxxxxxxxxxxxxxxxxxxxxxxx⟧
STRIPE_PUBLISHABLE_KEY=⟦d.pk⟧
OPENAI_API_KEY=⟦d.ph=YOUR_API_KEY⟧
DB_PASSWORD=⟦d.ph=changeme⟧
SLACK_BOT_TOKEN=⟦d.ph=xoxb-your-token-here⟧
JWT_SECRET=⟦d.ph=<generate with: openssl rand -hex 32>⟧
""", clean=True)

DV(r"""
⟦L:ask_clean⟧

{
  "name": "shop-frontend",
  "version": "⟦d.version⟧",
  "private": true,
  "scripts": { "dev": "vite --port ⟦d.port⟧", "build": "vite build", "test": "vitest run" },
  "dependencies": { "react": "^18.3.1", "@stripe/stripe-js": "^⟦d.version⟧" },
  "devDependencies": { "vite": "^⟦d.version⟧", "typescript": "~5.4.5" }
}
""", clean=True)

DV(r"""
⟦L:ask_clean⟧

FROM node:20-alpine@⟦d.digest⟧ AS build
WORKDIR /app
COPY package*.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM nginx:⟦d.version⟧
COPY --from=build /app/dist /usr/share/nginx/html
EXPOSE ⟦d.port⟧
""", clean=True)

DV(r"""
⟦L:ask_error⟧

Running with gitlab-runner ⟦d.version⟧ (⟦d.commit/short⟧)
  on docker-runner-03 ⟦d.commit/short⟧, system ID: s_⟦d.md5⟧
Fetching changes with git depth set to 20...
Checking out ⟦d.commit/short⟧ as detached HEAD (ref is main)...
$ npm ci
added 1287 packages in ⟦d.duration⟧
$ npm test
Tests:       3 failed, 412 passed, 415 total
ERROR: Job failed: exit code 1
""", clean=True)

DV(r"""
⟦L:ask_review⟧

import { loadStripe } from '@stripe/stripe-js';

// publishable key – safe to ship to the browser, see ⟦d.url=https://stripe.com/docs/keys⟧
const stripePromise = loadStripe('⟦d.pk⟧');
""", clean=True)

DV(r"""
⟦L:ask_error⟧

Traceback (most recent call last):
  File "/app/worker.py", line ⟦d.line⟧, in <module>
    run()
  File "/app/worker.py", line ⟦d.line⟧, in run
    total = sum(item["price"] for item in basket)
  File "/app/worker.py", line ⟦d.line⟧, in <genexpr>
    total = sum(item["price"] for item in basket)
KeyError: 'price'
""", clean=True)

DV(r"""
⟦L:ask_error⟧

$ kubectl get pods -n shop
NAME                          READY   STATUS             RESTARTS   AGE
api-7c9d8f6b5d-x2kqp          1/1     Running            0          3d
worker-5f7b9c8d4-9lmzt        0/1     CrashLoopBackOff   17         52m
$ kubectl describe pod worker-5f7b9c8d4-9lmzt -n shop | grep -i image
    Image:          ghcr.io/acme/worker:⟦d.version⟧
    Image ID:       ghcr.io/acme/worker@⟦d.digest⟧
""", clean=True)

DV(r"""
⟦L:ask_clean⟧

$ sha256sum release-⟦d.version⟧.tar.gz
⟦d.sha256⟧  release.tar.gz
$ md5sum release.tar.gz
⟦d.md5⟧  release.tar.gz
""", clean=True)

DV(r"""
⟦L:ask_review⟧

import os
import stripe
from openai import OpenAI

client = OpenAI(api_key=os.environ["OPENAI_API_KEY"])
stripe.api_key = os.getenv("STRIPE_SECRET_KEY", "⟦d.ph=sk_test_...⟧")
DB_PASSWORD = os.environ.get("DB_PASSWORD", "⟦d.ph=changeme⟧")
""", clean=True)

DV(r"""
⟦L:ask_fail⟧

curl https://api.example.com/v1/orders \
  -H "Authorization: Bearer ⟦d.ph=<token>⟧" \
  -H "X-Api-Key: ⟦d.ph=$API_KEY⟧"

HTTP/2 ⟦d.status⟧
content-type: application/problem+json
{"title": "Unauthorized", "status": 401, "traceId": "⟦d.uuid⟧"}
""", clean=True)

DV(r"""
⟦L:ask_explain⟧

$ echo $DB_PASSWORD
⟦d.ph=[MASKED]⟧
$ cat config/app.yml
database:
  host: db.internal
  user: app
  password: ⟦d.ph=********⟧
  port: ⟦d.port⟧
""", clean=True)

DV(r"""
⟦L:ask_error⟧

{"id": "⟦d.uuid⟧", "status": "failed", "http_status": ⟦d.status⟧, "build": "⟦d.commit⟧", "retry_after": 30, "worker": "eu-west-1b"}
""", clean=True)

DV(r"""
⟦L:ask_clean⟧

# .npmrc
registry=https://registry.npmjs.org/
//npm.pkg.github.com/:_authToken=${NPM_TOKEN}
@acme:registry=https://npm.pkg.github.com
engine-strict=true
# node ⟦d.version⟧
""", clean=True)


# ---- developer messages written in the other languages -------------------
C("de", "dev", """
Hi ⟦p1.given⟧, hier die Zugangsdaten für den Testserver:
Server: test-01.intern
Benutzer: admin
Passwort: ⟦pw_human⟧
Bitte nach dem ersten Login ändern. Ticket: ⟦d.ticket/jira⟧
Gruß ⟦p2.given⟧
""")

C("de", "dev", """
# Konfiguration für den Export-Job (nur Staging!)
export_api_key=⟦generic⟧
# Datenbank, Passwort steht auch im Vault
DB_PASSWORD=⟦pw⟧
# Port für den Healthcheck
PORT=⟦d.port⟧
""")

C("fr", "dev", """
Salut ⟦p1.given⟧, voici les accès au serveur de recette :
hôte : recette-02.interne
identifiant : admin
mot de passe : ⟦pw_human⟧
Pense à le changer à la première connexion (ticket ⟦d.ticket/jira⟧).
""")

C("fr", "dev", """
# config du connecteur comptable – ne pas pousser sur le dépôt !
apikey: ⟦generic⟧
# base de données
DB_PASSWORD=⟦pw⟧
# port d'écoute
PORT=⟦d.port⟧
""")

C("es", "dev", """
Hola ⟦p1.given⟧, te paso el acceso al servidor de pruebas:
servidor: pruebas-03.interno
usuario: admin
contraseña: ⟦pw_human⟧
Cámbiala al entrar por primera vez, porfa (ticket ⟦d.ticket/jira⟧).
""")

C("es", "dev", """
# configuración del conector de facturación (solo preproducción)
auth_token=⟦generic⟧
# base de datos
DB_PASSWORD=⟦pw⟧
# puerto
PORT=⟦d.port⟧
""")

C("it", "dev", """
Ciao ⟦p1.given⟧, ecco le credenziali del server di test:
host: collaudo-01.interno
utente: admin
password: ⟦pw_human⟧
Cambiala al primo accesso (ticket ⟦d.ticket/jira⟧). Un saluto, ⟦p2.given⟧
""")

C("it", "dev", """
# configurazione del job di esportazione (solo collaudo!)
secret_key=⟦generic⟧
# database
DB_PASSWORD=⟦pw⟧
# porta
PORT=⟦d.port⟧
""")

C("nl", "dev", """
Hoi ⟦p1.given⟧, hier de inloggegevens voor de testserver:
server: test-02.intern
gebruiker: admin
wachtwoord: ⟦pw_human⟧
Graag na de eerste keer inloggen wijzigen (ticket ⟦d.ticket/jira⟧).
""")

C("nl", "dev", """
# configuratie van de exportkoppeling (alleen acceptatie!)
client_secret=⟦generic⟧
# database
DB_PASSWORD=⟦pw⟧
# poort
PORT=⟦d.port⟧
""")

C("pt", "dev", """
Olá ⟦p1.given⟧, seguem os acessos ao servidor de testes:
servidor: testes-01.interno
utilizador: admin
senha: ⟦pw_human⟧
Muda-a no primeiro acesso, por favor (ticket ⟦d.ticket/jira⟧).
""", country="pt")

C("pt", "dev", """
# configuração do job de exportação (só homologação!)
api_key=⟦generic⟧
# banco de dados
DB_PASSWORD=⟦pw⟧
# porta
PORT=⟦d.port⟧
""", country="br")

C("en", "dev", """
Hi ⟦p1.given⟧, creds for the demo tenant as promised:
url: https://demo.shop-backend.io/admin
user: demo-admin
password: ⟦pw_human⟧
Please don't share outside the team – expires after the ⟦d.date/short⟧ demo.
""")

C("en", "dev", """
@⟦p1.glower⟧ can you rotate this? someone pasted it in #general yesterday
SLACK_WEBHOOK_URL=⟦slack_hook⟧
(channel has ⟦d.qty/n⟧ members incl. external guests)
""")


# ---------------------------------------------------------------------------

def lang_carriers():
    out = {}
    for c in _ALL:
        if c["kind"] == "dev":
            continue
        out.setdefault(c["lang"], []).append(c)
    return out


def dev_carriers():
    out = {}
    langs = sorted({c["lang"] for c in _ALL})
    for lang in langs:
        own = [dict(c, priority=True) for c in _ALL if c["kind"] == "dev" and c["lang"] == lang]
        out[lang] = list(_DEV) + own
    return out


def all_carriers():
    return list(_ALL) + list(_DEV)


# ===========================================================================
# extra carriers: payment cards and US social security numbers
# ===========================================================================
C("en", "chat", """
i got charged twice for order ⟦d.order⟧ (⟦d.amount⟧ each) on my card ⟦cc⟧ and the shop isnt answering. the name on the card is ⟦p1.lower⟧. what do i tell my bank, is it a chargeback or a dispute??
""")

C("en", "form", """
TAX ORGANIZER – ⟦d.date/num⟧
Taxpayer: ⟦p1@en.full⟧            SSN: ⟦ssn⟧
Spouse:   ⟦p2@en.full⟧            SSN: ⟦ssn⟧
Date of birth (taxpayer): ⟦dob⟧
Home address: ⟦addr1@us⟧
Daytime phone: ⟦phone@us⟧
Dependents: 2 (see schedule)
Prior-year AGI: ⟦d.amount⟧   Preparer ref: ⟦d.ticket/case⟧
""", country="us")

C("en", "email", """
Hi ⟦p1.given⟧,

for the W-9 you asked for: legal name ⟦p2@en.full⟧, SSN ⟦ssn⟧, mailing address ⟦addr1@us⟧. Please don't forward this email – just copy it into the vendor form (vendor no. ⟦d.cust⟧).

Thanks,
⟦p2.given⟧
""", country="us")

C("en", "ticket", """
Case ⟦d.ticket/case⟧ – Card declined at checkout
Customer: ⟦p1.full⟧ (⟦p1.email⟧)
Card: ⟦cc⟧, exp ⟦d.expiry⟧
Billing address: ⟦addr1⟧
Gateway response: do_not_honor (HTTP ⟦d.status⟧)
Agent note: asked customer to contact issuing bank; order ⟦d.order⟧ kept on hold.
""")

C("de", "form", """
Hotelreservierung ⟦d.booking⟧
Gast: ⟦p1.hon⟧ ⟦p1.full⟧
Anreise: ⟦d.date/num⟧ (3 Nächte)
Zimmer: Doppelzimmer Komfort, ⟦d.amount⟧ pro Nacht
Garantie per Kreditkarte: ⟦cc⟧, gültig bis ⟦d.expiry⟧
Rechnungsanschrift: ⟦addr1⟧
Telefon: ⟦phone⟧
""")

C("fr", "form", """
Réservation ⟦d.booking⟧
Client : ⟦p1.hon⟧ ⟦p1.full⟧
Arrivée : ⟦d.date/num⟧ (2 nuits)
Chambre double, ⟦d.amount⟧ la nuit
Garantie carte bancaire : ⟦cc⟧ (exp. ⟦d.expiry⟧)
Adresse de facturation : ⟦addr1⟧
""")

C("es", "form", """
Reserva ⟦d.booking⟧
Cliente: ⟦p1.hon⟧ ⟦p1.full⟧
Entrada: ⟦d.date/num⟧ (4 noches)
Habitación doble, ⟦d.amount⟧ por noche
Garantía con tarjeta: ⟦cc⟧, caduca ⟦d.expiry⟧
Dirección de facturación: ⟦addr1⟧
""")

C("it", "form", """
Prenotazione ⟦d.booking⟧
Ospite: ⟦p1.hon⟧ ⟦p1.full⟧
Arrivo: ⟦d.date/num⟧ (2 notti)
Camera doppia, ⟦d.amount⟧ a notte
Garanzia carta di credito: ⟦cc⟧, scadenza ⟦d.expiry⟧
Indirizzo di fatturazione: ⟦addr1⟧
""")

C("nl", "form", """
Reservering ⟦d.booking⟧
Gast: ⟦p1.hon⟧ ⟦p1.full⟧
Aankomst: ⟦d.date/num⟧ (3 nachten)
Tweepersoonskamer, ⟦d.amount⟧ per nacht
Garantie creditcard: ⟦cc⟧, geldig tot ⟦d.expiry⟧
Factuuradres: ⟦addr1⟧
""")

C("pt", "form", """
Reserva ⟦d.booking⟧
Hóspede: ⟦p1.hon⟧ ⟦p1.full⟧
Check-in: ⟦d.date/num⟧ (5 noites)
Quarto duplo, ⟦d.amount⟧ por noite
Garantia com cartão de crédito: ⟦cc⟧, validade ⟦d.expiry⟧
Endereço de faturação: ⟦addr1⟧
""")

C("de", "chat", """
hilfe, mir wurden heute ⟦d.amount⟧ von meiner kreditkarte ⟦cc⟧ abgebucht, ich war das nicht. karte läuft auf ⟦p1.lower⟧. muss ich die karte sperren lassen oder reicht ein anruf bei der bank?
""")

C("es", "chat", """
me han cobrado ⟦d.amount⟧ dos veces con la tarjeta ⟦cc⟧ en la misma tienda (pedido ⟦d.order⟧). el titular es ⟦p1.lower⟧. como reclamo?
""")


# ===========================================================================
# extra clean carriers: book orders (ISBN decoys)
# ===========================================================================
C("en", "shipping", """
Order ⟦d.order⟧ – dispatched ⟦d.date/wd⟧
1 × Designing Data-Intensive Applications (paperback), ISBN ⟦d.isbn⟧ – ⟦d.amount⟧
1 × The Pragmatic Programmer, 20th Anniversary Edition, ISBN ⟦d.isbn⟧ – ⟦d.amount⟧
Shipping: ⟦d.org⟧ Tracked 48, ⟦d.tracking⟧
""", clean=True)

C("de", "shipping", """
Ihre Bestellung ⟦d.order⟧ wurde versandt.
1 x Praxishandbuch Steuerrecht 2025, ISBN ⟦d.isbn⟧, ⟦d.amount⟧
1 x Kochen für Berufstätige, ISBN ⟦d.isbn⟧, ⟦d.amount⟧
Sendungsnummer: ⟦d.tracking/dhl⟧ – Zustellung voraussichtlich ⟦d.date/wd⟧
""", clean=True)

C("fr", "shipping", """
Commande ⟦d.order⟧ expédiée le ⟦d.date/num⟧
1 × Cuisine du marché, ISBN ⟦d.isbn⟧ – ⟦d.amount⟧
1 × Le Guide pratique de la comptabilité, ISBN ⟦d.isbn⟧ – ⟦d.amount⟧
Suivi : ⟦d.tracking/s10⟧
""", clean=True)

C("es", "shipping", """
Tu pedido ⟦d.order⟧ ya está en camino
1 × Manual de contabilidad para pymes, ISBN ⟦d.isbn⟧ – ⟦d.amount⟧
1 × Cocina de aprovechamiento, ISBN ⟦d.isbn⟧ – ⟦d.amount⟧
Entrega prevista: ⟦d.date/wd⟧ (envío ⟦d.tracking⟧)
""", clean=True)

C("it", "shipping", """
Il tuo ordine ⟦d.order⟧ è stato spedito
1 × Manuale di diritto privato, ISBN ⟦d.isbn⟧ – ⟦d.amount⟧
1 × Cucina di casa in 30 minuti, ISBN ⟦d.isbn⟧ – ⟦d.amount⟧
Consegna prevista: ⟦d.date/wd⟧, spedizione ⟦d.tracking⟧
""", clean=True)

C("nl", "shipping", """
Je bestelling ⟦d.order⟧ is onderweg
1 × Handboek boekhouden voor zzp'ers, ISBN ⟦d.isbn⟧ – ⟦d.amount⟧
1 × Koken zonder gedoe, ISBN ⟦d.isbn⟧ – ⟦d.amount⟧
Verwachte bezorging: ⟦d.date/wd⟧ (⟦d.tracking/postnl⟧)
""", clean=True)

C("pt", "shipping", """
A sua encomenda ⟦d.order⟧ foi expedida
1 × Guia prático do IRS 2025, ISBN ⟦d.isbn⟧ – ⟦d.amount⟧
1 × Cozinha rápida para todos os dias, ISBN ⟦d.isbn⟧ – ⟦d.amount⟧
Entrega prevista: ⟦d.date/wd⟧ (⟦d.tracking/s10⟧)
""", clean=True, country="pt")


# ===========================================================================
# extra carriers: places mentioned on their own (LOCATION)
# ===========================================================================
C("en", "chat", """
planning a 10 day road trip in ⟦country⟧ in May – flying into ⟦city⟧, then ⟦city⟧ and ⟦city⟧, maybe a night somewhere in ⟦region⟧. is that too much driving with a 6yo? budget ⟦d.amount⟧ without flights
""")
C("en", "notes", """
Territory update – ⟦d.date/long⟧
North: ⟦city⟧, ⟦city⟧ (⟦p1.full⟧ covers both until ⟦d.date/short⟧)
South: ⟦city⟧ and the rest of ⟦region⟧ – vacant, recruiting (req ⟦d.ticket/req⟧)
Export: ⟦country@any⟧ and ⟦country@any⟧, handled from ⟦city⟧
Pipeline: ⟦d.amount⟧, ⟦d.qty/n⟧ open opportunities
""")
C("de", "chat", """
wir planen im Mai eine Rundreise durch ⟦country⟧: Start in ⟦city⟧, dann ⟦city⟧ und ⟦city⟧, zwei Nächte irgendwo in ⟦region⟧. ist das mit einem 6-jährigen machbar? budget ⟦d.amount⟧ ohne Flüge
""")
C("de", "notes", """
Gebietsaufteilung ab ⟦d.date/num⟧
Nord: ⟦city⟧, ⟦city⟧ (⟦p1.full⟧)
Süd: ⟦city⟧ und Umgebung (⟦region⟧) – unbesetzt, Stelle ⟦d.ticket/req⟧
Export: ⟦country@any⟧, ⟦country@any⟧ – Betreuung aus ⟦city⟧
Pipeline: ⟦d.amount⟧
""")
C("fr", "chat", """
on prévoit un road trip de 10 jours en mai (⟦country⟧) : arrivée à ⟦city⟧, puis ⟦city⟧ et ⟦city⟧, peut-être une nuit du côté de ⟦region⟧. c'est jouable avec un enfant de 6 ans ? budget ⟦d.amount⟧ hors vols
""")
C("fr", "notes", """
Répartition des secteurs au ⟦d.date/num⟧
Nord : ⟦city⟧, ⟦city⟧ (⟦p1.full⟧)
Sud : ⟦city⟧ et environs (⟦region⟧) – poste vacant, ⟦d.ticket/req⟧
Export : ⟦country@any⟧ et ⟦country@any⟧, suivis depuis ⟦city⟧
Pipeline : ⟦d.amount⟧
""")
C("es", "chat", """
queremos hacer una ruta de 10 días en mayo (⟦country⟧): llegamos a ⟦city⟧, luego ⟦city⟧ y ⟦city⟧, y quizá una noche por ⟦region⟧. es mucho coche con un niño de 6 años? presupuesto ⟦d.amount⟧ sin vuelos
""")
C("es", "notes", """
Reparto de zonas desde el ⟦d.date/num⟧
Norte: ⟦city⟧, ⟦city⟧ (⟦p1.full⟧)
Sur: ⟦city⟧ y alrededores (⟦region⟧) – vacante, ⟦d.ticket/req⟧
Exportación: ⟦country@any⟧ y ⟦country@any⟧, desde ⟦city⟧
Cartera: ⟦d.amount⟧
""")
C("it", "chat", """
stiamo organizzando un giro di 10 giorni a maggio (⟦country⟧): arrivo a ⟦city⟧, poi ⟦city⟧ e ⟦city⟧, magari una notte dalle parti di ⟦region⟧. troppi km con un bimbo di 6 anni? budget ⟦d.amount⟧ voli esclusi
""")
C("it", "notes", """
Suddivisione zone dal ⟦d.date/num⟧
Nord: ⟦city⟧, ⟦city⟧ (⟦p1.full⟧)
Sud: ⟦city⟧ e dintorni (⟦region⟧) – posizione aperta, ⟦d.ticket/req⟧
Export: ⟦country@any⟧ e ⟦country@any⟧, gestiti da ⟦city⟧
Pipeline: ⟦d.amount⟧
""")
C("nl", "chat", """
we plannen in mei een rondreis van 10 dagen (⟦country⟧): aankomst in ⟦city⟧, dan ⟦city⟧ en ⟦city⟧, misschien een nacht ergens in ⟦region⟧. te veel rijden met een kind van 6? budget ⟦d.amount⟧ zonder vluchten
""")
C("nl", "notes", """
Rayonindeling per ⟦d.date/num⟧
Noord: ⟦city⟧, ⟦city⟧ (⟦p1.full⟧)
Zuid: ⟦city⟧ en omgeving (⟦region⟧) – vacature ⟦d.ticket/req⟧
Export: ⟦country@any⟧ en ⟦country@any⟧, vanuit ⟦city⟧
Pipeline: ⟦d.amount⟧
""")
C("pt", "chat", """
vamos fazer uma viagem de 10 dias em maio (⟦country⟧): chegada a ⟦city⟧, depois ⟦city⟧ e ⟦city⟧, talvez uma noite pela zona de ⟦region⟧. é muito carro com uma criança de 6 anos? orçamento ⟦d.amount⟧ sem voos
""")
C("pt", "notes", """
Divisão de zonas a partir de ⟦d.date/num⟧
Norte: ⟦city⟧, ⟦city⟧ (⟦p1.full⟧)
Sul: ⟦city⟧ e arredores (⟦region⟧) – vaga em aberto, ⟦d.ticket/req⟧
Exportação: ⟦country@any⟧ e ⟦country@any⟧, a partir de ⟦city⟧
Carteira: ⟦d.amount⟧
""")


# ===========================================================================
# extra developer carriers: PEM blocks (private = secret, public = decoy)
# ===========================================================================
DV(r"""
⟦L:ask_fail⟧ jwt.exceptions.InvalidKeyError: Could not parse the provided public key.

$ cat keys/private.pem
⟦pem_pkcs8⟧
$ cat keys/public.pem
⟦d.pubkey⟧
""")

DV(r"""
⟦L:ask_review⟧

# /etc/nginx/conf.d/shop.conf
server {
    listen ⟦d.port=443⟧ ssl;
    ssl_certificate     /etc/nginx/ssl/shop.crt;
    ssl_certificate_key /etc/nginx/ssl/shop.key;
}

$ cat /etc/nginx/ssl/shop.crt
⟦d.cert⟧
""", clean=True)

DV(r"""
⟦L:ask_clean⟧

$ cat ~/.ssh/id_ed25519.pub
⟦d.sshpub⟧ deploy@build-01
$ cat ~/.ssh/config
Host bastion
    HostName bastion.internal.example.com
    User deploy
    Port ⟦d.port=2222⟧
    IdentityFile ~/.ssh/id_ed25519
""", clean=True)

DV(r"""
⟦L:ask_leak⟧

$ cat ~/.ssh/id_rsa
⟦pem⟧
$ ls -l ~/.ssh
-rw------- 1 ci ci 2602 ⟦d.date/short⟧ id_rsa
-rw-r--r-- 1 ci ci  ⟦d.qty/n⟧ ⟦d.date/short⟧ known_hosts
""")
