# Hand-written templates. {SLOT} = generated value (labelled or decoy, see gen.py),
# [[TYPE:text]] = literal labelled text. Everything else is plain, unlabelled text.

EMAILS = [
"""Hi {P.first},

Thanks for reaching out about order {ORDER}. I've checked with our warehouse and the replacement kettle (SKU {SKU}) shipped yesterday, tracking number {TRACK}. It should arrive at {ADDR_UK} by Friday.

If anything looks off, just reply to this e-mail or call us on {PHONE_UK}.

Best regards,
{P2}
Customer Care, Halden Home Goods
[[URL:https://www.halden-home.co.uk|www.halden-home.co.uk|https://halden-home.co.uk/help]]""",

"""Dear Mr. {P.last},

We received your request to update the billing details on account {CASE}. For security reasons we cannot accept full card numbers by e-mail. Please delete the number {CARD} from your message history and enter it through the secure portal at [[URL:https://my.kestrelmobile.com/billing/payment-method|https://my.kestrelmobile.com/secure/update-card]] instead.

Kind regards,
{P2}
Billing Team | Kestrel Mobile
{PHONE_US}""",

"""Hello,

My name is {P} and I'm writing about invoice {INVOICE} for {AMOUNT}. The payment was made on {DATE} from my account {IBAN}, but your system still shows it as outstanding. Could you please check? You can reach me at {P.email} or {PHONE_DE}.

Thanks,
{P.first}""",

"""Bonjour {P.first},

Merci pour votre message. Your refund of {AMOUNT} has been issued to the card ending in {LAST4} and should appear within 5-7 business days. For reference, the original order {ORDER} was placed on {DATE}.

Cordialement,
{P2}
Service client – Maison Verdier
{PHONE_FR} | [[URL:https://www.maison-verdier.fr|www.maison-verdier.fr/aide]]""",

"""Hi team,

I moved from {CITY} to {CITY2} last month and still haven't received my statements. My new address is {ADDR_CA}. Please update it on my profile (customer number {ORDER}) and send future letters to {P.email}.

Cheers,
{P}
{PHONE_CA}""",

"""Dear {P},

Thank you for applying to the Brightwave Energy home solar programme. To complete the credit check we need your Social Security number. The number you provided, {SSN}, does not match the name on file. Please call {PHONE_US} between 9am and 5pm ET.

Sincerely,
{P2}
Applications Desk
{P2.email}""",

"""Hallo {P.first},

vielen Dank für Ihre Nachricht. Wir haben die Rücksendung zu Bestellung {ORDER} erhalten. Die Erstattung über {AMOUNT} geht in den nächsten Tagen auf Ihr Konto {IBAN_DE}.

Mit freundlichen Grüßen
{P2}
Kundenservice, Lindner Sport GmbH
Tel. {PHONE_DE}
{P2.email}""",

"""Hey {P.first}!

Just confirming we got your warranty claim for the Aurora X2 headphones (firmware {VER}). A courier will pick them up from {ADDR_AU} on Tuesday. If you need to reschedule, text {PHONE_AU}.

Thanks heaps,
{P2.first} @ SoundHarbour Support
[[URL:www.soundharbour.com.au/warranty|https://soundharbour.com.au/support]]""",

"""Good morning,

I'm following up on ticket {TICKET}. I was charged {AMOUNT} twice on my Mastercard {CARD_MC} on {DATE}. I've attached the bank statement. Please refund one of the two charges.

Regards,
{P}
{P.email}
{PHONE}""",

"""Dear {P2.first},

Greetings from {CITY}! I'm afraid I won't be able to make the installation appointment on {DT}. Could we move it to next week instead? Our address is still {ADDR_US} and my mobile is {PHONE_US}.

Many thanks,
{P}
{P.email}""",

"""Hi {P.first},

Your password for the Norrland Travel portal was reset at your request. If this wasn't you, please contact us right away through the app. The reset was requested from IP address {IP4} on {DT}.

— The Norrland Travel Team""",

"""Estimado {P.first}:

Gracias por su paciencia. We have located your parcel {TRACK}; it was held at the depot in {CITY} because the address label was damaged. We'll redeliver to {ADDR} tomorrow.

Saludos,
{P2}
Envíos Rápidos – atención al cliente
{P2.email}""",

"""Dear Dr. {P.last},

This is a reminder that your clinic's subscription (Pro plan, version {VER}) renews on {DATE} for {AMOUNT}. The renewal will be charged to the American Express card {CARD_AMEX}. To change payment details, visit [[URL:https://my.medledger.com/settings/payment|https://medledger.com/account/billing]].

Best,
{P2}
Accounts, MedLedger Inc.""",

"""Hi {P.first}, hi {P2.first},

As discussed on the call, I've wired the deposit of {AMOUNT} to {IBAN_GB} (reference {INVOICE}). Please confirm receipt when you can.

Best wishes,
{P3}
{PHONE_UK}
{P3.email}""",

"""To whom it may concern,

I am disputing a transaction of {AMOUNT} dated {DATE} on card {CARD}. I did not authorise this purchase; the merchant is in {CITY2} and I was in {COUNTRY} at the time. My contact number is {PHONE} and my email is {P.email}.

Yours faithfully,
{P}""",

"""Hi {P.first},

Thanks for upgrading to Fjordline Premium! Your new plan starts today. The account email is {P.email} and your backup phone number is {PHONE}. Download the latest app (v{VER}) to see the new features.

Happy streaming,
{P2.first}
Manage your account: [[URL:https://fjordline.tv/account|https://www.fjordline.tv/konto/abonnement]]""",

"""Dear {P},

We regret to inform you that order {ORDER} could not be delivered to {ADDR_FR}. Le colis sera retourné à l'expéditeur si vous ne nous contactez pas avant vendredi. Call {PHONE_FR} or write to {P2.email}.

Bien à vous,
{P2}""",

"""Hello {P.first},

I'm the account manager assigned to your company now that {P2} has left. Feel free to ping me anytime at {P3.email} or {PHONE_IN}. I'm based in {CITY}, so our overlap is your morning.

Warm regards,
{P3}
{PHONE_IN}""",

"""Hi,

Can you please cancel my subscription? Account holder: {P}, date of birth {DOB}, registered phone {PHONE_US}, email {P.email}. I don't want to be charged the {AMOUNT} renewal.

Thanks""",

"""Dear customer service,

I ordered the Tessera 14" laptop (SKU {SKU}) on {DATE} but received the 13" model instead. Please arrange an exchange. Shipping address: {ADDR_DE}.

Best,
{P}
{P.email}""",

"""Hi {P.first},

Quick heads-up: the contractor {P2} will be at {ADDR_US} on {DT} to measure the kitchen. They'll call from {PHONE_US} when they're on the way. Let me know if that doesn't work.

Thanks!
{P3.first}
Oakline Renovations
{P3.email}""",

"""Hi {P.first},

Attached is invoice {INVOICE} for the translation work ({AMOUNT}). I'm now based in {CITY}, so please transfer the amount to my new account:
IBAN: {IBAN}
Account holder: {P2}

If your finance team prefers card payment, they can use the link [[URL:https://pay.stripe.com/invoice/acct_1Nf8sQ/inv_7Gx2|https://paypal.me/translations-invoice]].

Best,
{P2.first}
{P2.email}""",

"""Dear {P.first},

Thank you for your order at Verdant Plants! Payment of {AMOUNT} was taken from the Visa card {CARD_VISA}. Your plants will ship from {CITY} to {ADDR} next week.

Questions? Reply here or email {P2.email}.

Green regards,
{P2}""",

"""Hello {P.first},

I run payroll for the {CITY} office. HR flagged that the SSN on your W-2 ({SSN}) differs from the one on your I-9. Could you confirm the correct number by phone ({PHONE_US}) rather than email?

Thanks,
{P2}
{P2.email}""",
]

TICKETS = [
"""[{TICKET}] Customer {P} called re: failed payment. Card on file {CARD} declined twice ({AMOUNT}). Advised to contact the bank. Callback number {PHONE}. — {P2.first}""",
"""Fraud alert {CASE}: card {CARD} used in {CITY} and {COUNTRY2} within 40 minutes. Cardholder {P} ({P.email}, {PHONE}) confirmed only the first transaction. Card blocked, replacement {CARD} issued and mailed to {ADDR}.""",
"""CRM note {DATE}: spoke with {P}'s assistant {P2.first}. They want the renewal contract sent to {P.email} instead of the procurement inbox. Follow up next week.""",
"""Ticket {TICKET} | Priority: High | Reporter: {P} <{P.email}> | Summary: cannot log in after update to {VER}. Last successful login from {IP4}. Status: Waiting on customer.""",
"""Case {CASE}: caller identified as {P}, DOB {DOB}, SSN {SSN} verified. Requested address change to {ADDR_US}. Completed by agent {P2}.""",
"""Escalation — {P} (VIP, account {ORDER}) reports an unauthorized transfer to IBAN {IBAN} on {DATE}. Fraud team notified. Contact: {PHONE}, {P.email}.""",
"""Note from {P2.first}: left voicemail for {P} at {PHONE} and emailed {P.email}. Second attempt. Will try again Thursday. Order {ORDER} still on hold pending ID verification.""",
"""Support ticket {TICKET}
Opened by: {P.email}
Product: Quanta Router QR-500, firmware {VER}
Issue: WAN address {IP4} keeps changing; IPv6 prefix {IP6} not handed out to LAN clients.
Assigned to: {P2}""",
"""Lead: {P}, Head of Operations at Velmora Foods. Met at the trade fair in {CITY}. Mobile {PHONE}, email {P.email}. Interested in 200 seats, budget approx {AMOUNT}. Next step: demo on {DT}.""",
"""Internal note: customer insists the charge on {DATE} wasn't theirs. {P.first} says they were travelling in {COUNTRY} that week. Refunded {AMOUNT} to card {CARD} as goodwill, ref {INVOICE}. – {P2.first}""",
"""{TICKET} - merged into {TICKET}. Duplicate submission from {P} ({P.email}). No further action.""",
"""Account review for {P} ({P.email}): SSN {SSN}. Address on file {ADDR_US}. Credit limit raised to {AMOUNT}. Reviewed by {P2} on {DATE}.""",
"""Callback request: {P.first} from accounting at Orbis Dental wants to discuss invoice {INVOICE}. Best time after 3pm. Number: {PHONE_UK}.""",
"""Chargeback filed by cardholder {P} ({PHONE}) for card {CARD}, transaction in {CITY}. Merchant ref {ORDER}. Amount {AMOUNT}. Evidence due by {DATE}. Upload at [[URL:https://secure.kestrelbank.com/disputes/evidence|https://disputes.kestrelbank.com/upload?case=open]].""",
"""Ticket {TICKET} updated by {P2}: user {P} is not receiving 2FA SMS on {PHONE_IN}. Verified email {P.email}. Reset MFA and sent a new enrolment link.""",
"""Ticket {TICKET} — supplier {P} changed their bank details from {IBAN} to {IBAN}. Call-back verification done on {PHONE} by {P2.first}. Screenshot: [[URL:https://drive.google.com/file/d/1aX9kQ7vT2mB/view|https://imgur.com/a/Xp3Lq9c]]""",
"""KYC check failed for {P}: passport number {PASSPORT} expired on {DATE}. Ask the customer to upload a new document via [[URL:https://kyc.norrlandpay.com/upload/9f2c|https://verify.norrlandpay.com/documents]]. Customer email: {P.email}.""",
"""Complaint logged: technician {P2.first} arrived two hours late at {ADDR_UK}. Customer {P} requests compensation. Case {CASE}.""",
"""P2 | {TICKET} | Customer: {P}, {CITY}, {COUNTRY} | Product: Lumio Desk Lamp {SKU} | Defect: flickering after firmware {VER}. Replacement approved.""",
"""Re: refund – {P} provided new bank details: account number {BANKACCT} at Kestrel Savings. Verified by phone on {PHONE_US}. Processing {AMOUNT}. Confirmation sent to {P.email}.""",
"""Crypto desk note: {P} wants the withdrawal of 0.42 BTC sent to {BTC} instead of the address used last time. Needs second approval from {P2.first}. Customer IBAN for fiat payouts: {IBAN}.""",
"""Ticket {TICKET}: duplicate account suspected. {P.email} and {P2.email} were both registered from {IP4} within five minutes. Flagged for review.""",
"""IRS notice forwarded by {P} ({P.email}): ITIN {ITIN} mismatch on the 1040. Spouse {P2}, SSN {SSN}. Callback {PHONE_US}. Now living in {STATE}.""",
"""CRM: updated contact for {P}. Old phone {PHONE}, new phone {PHONE}. Preferred channel: email ({P.email}). Do not call on Sundays.""",
"""Case {CASE} — SIM swap request for {P}. ID checked against driver's license {DL}. Approved by {P2.first}, new SIM shipped to {ADDR_US}.""",
"""Refund approved for {P} ({P.email}). Original payment: Visa {CARD_VISA}, {AMOUNT}, {DATE}. Finance ticket {TICKET}.""",
"""Ticket {TICKET} | Requester: {P2} | Issue: cannot reach [[URL:http://intranet.halvorsen-eng.local/wiki/Onboarding|https://git.halvorsen-eng.local/infra/vpn]] from the VPN; resolves to {IP4}. Workaround: use the public address. Owner: {P.first}""",
]

CHATS = [
"""can you help me write a polite email to my landlord {P.lower}? the heating in my flat has been broken since {DATE} and they arent answering the phone ({PHONE_UK})""",
"""Summarize this for me: "Hi all, {P.first} here. The offsite is moving from {CITY} to {CITY2} because of the venue issue. Please send travel receipts to {P.email} by Friday." """,
"""write a birthday message for my neighbour {P.flower} who is turning 80 on {DATE}. lives in {CITY} and loves gardening""",
"""Translate into German: "Dear {P}, your appointment is confirmed for {DT} at our practice, {ADDR_DE}. Please bring your insurance card." """,
"""my credit card {CARD} got charged twice by some website, how do i dispute it?? i'm in {COUNTRY.lower} btw""",
"""Is this IBAN valid? {IBAN} — a supplier in {COUNTRY} sent it and I want to be sure before I pay {AMOUNT}.""",
"""hey, i need a cover letter for a job at Nordvik Analytics. my name is {P.lower}, i live in {CITY}, phone {PHONE}, email {P.email}. i have 5 yrs experiance in data analysis""",
"""What's wrong with my nginx config? Requests from {IP4} are being blocked even though I only whitelisted {IP4}. Running nginx {VER}.""",
"""Please fix the grammar: "Me and {P.first} was going to {CITY} on {DATE} but the flight got cancel." """,
"""rewrite this more formally: yo {P.flower} the invoice {INVOICE} is late AGAIN, pay up or we stop shipping lol""",
"""Can you format these contacts as a table? {P} – {PHONE} – {P.email}; {P2} – {PHONE} – {P2.email}; {P3} – {PHONE}""",
"""I got a letter saying someone used my SSN {SSN} to open a credit card. What steps should I take? I live in {STATE}, my number is {PHONE_US}.""",
"""my kid {P.flower} needs a permission slip for a school trip to {CITY} on {DATE}, can you draft one? the school is Maplewood Elementary""",
"""Explain what this log line means: {TS} WARN auth failed for user {P.email} from {IP6}""",
"""write a short bio for {P}, a nurse from {CITY} who moved to {COUNTRY} and now runs a community clinic. keep it under 100 words""",
"""hola! necesito ayuda: quiero mandar un paquete a mi amiga {P} en {ADDR_US}. what's the cheapest carrier from {COUNTRY}?""",
"""can u check if this bitcoin adress looks right {BTC} my friend {P.flower} sent it to me""",
"""Draft a reply to {P.first} saying we can meet on {DATE} at our office at {ADDR_UK}, and that parking is around the back.""",
"""i need to fill a visa form for {COUNTRY} and it asks for my passport number {PASSPORT} and date of issue {DATE}. what do they mean by place of issue? i got it in {CITY}""",
"""help me split the bill: {P.flower} paid {AMOUNT} for dinner, i paid {AMOUNT}, and {P2.flower} paid nothing. how much does everyone owe""",
"""Is a DEA number like {DEA} something the pharmacy actually verifies? The prescription came from Dr. {P}.""",
"""make this sound nicer pls: "{P.first}, you forgot AGAIN to send the report. send it to {P2.email} today" """,
"""I'm writing a wedding toast for my best friend {P.first} and their partner {P2.first}. They met in {CITY} and are getting married on {DATE}. Make it funny but sweet.""",
"""whats the format for a uk phone number? is {PHONE_UK} right? its my flatmate {P.lower}'s number""",
"""Can you check my LinkedIn summary? Here's the link: {P.linkedin} — I'm {P}, product designer, currently based in {CITY}.""",
"""My server at {IP4} keeps getting SSH brute-force attempts from {IP4} and {IP6}. How do I set up fail2ban?""",
"""is this a real card number or a test one? {CARD} it was in an email from "{P}" asking me to pay {AMOUNT} at [[URL:http://kestre1-bank-verify.com/pay|https://secure-payments-check.net/login.php]]. the sender signed as calling from {CITY}""",
"""my ssn is {SSN} and my wifes is {SSN}, we live in {STATE} ({CITY.lower} area). can we file jointly if she moved here from {COUNTRY} last year?""",
"""Write a LinkedIn recommendation for {P}. We worked together at Nordvik Analytics in {CITY} and they now live in {CITY2}. Profile: {P.linkedin}""",
"""i only have an ITIN ({ITIN}) not an ssn. can i still open a checking account in {STATE}? my cousin {P.flower} said no""",
"""plan a 3 day trip to {CITY} for me and my partner {P.first}. we fly in from {CITY2} and want to see {COUNTRY2} too if its close""",
"""Someone emailed me from {P.email} claiming to be my bank and asked me to confirm my card {CARD} and IBAN {IBAN}. Is this phishing?""",
"""please turn this into a calendar invite: call with {P} on {DT}, dial-in {PHONE_US}""",
"""Bonjour, pouvez-vous m'aider à écrire une lettre de résiliation ? Je m'appelle {P}, j'habite au {ADDR_FR} et mon numéro client est {ORDER}.""",
]

FORMS = [
"""PATIENT INTAKE FORM
Name: {P}
DOB: {DOB}
Address: {ADDR_US}
Phone: {PHONE_US}
Email: {P.email}
Insurance plan: Silverline PPO
Emergency contact: {P2} ({PHONE_US})
Reason for visit: persistent cough for two weeks""",

"""New Hire Onboarding
Full name: {P}
Work location: {CITY}
Personal phone: {PHONE}
Date of birth: {DOB}
SSN: {SSN}
Start date: {DATE}
Bank account no. (direct deposit): {BANKACCT}
Manager: {P2}""",

"""Employee record — {P}
Employee ID: EMP-{DIGITS5}
Personal email: {P.email}
Home address: {ADDR_DE}
Tax class: III
IBAN: {IBAN_DE}
Birthday: {DOB_DE}""",

"""NHS Patient Registration
Surname: {P.last}
Forename(s): {P.first}
NHS number: {NHS}
Date of birth: {DOB}
Address: {ADDR_UK}
Mobile: {PHONE_UK}
GP practice: Riverside Medical Centre""",

"""Referral letter
Patient: {P}, born {DOB}
Referring physician: Dr. {P2}, DEA {DEA}
Reason: suspected migraine with aura, referred to neurology.
Contact: {PHONE_US}""",

"""Tax preparer checklist
Client: {P}
ITIN: {ITIN}
Spouse: {P2}, SSN {SSN}
Mailing address: {ADDR_US}
Refund estimate: {AMOUNT}""",

"""Visitor sign-in
Name: {P}
Company: Halvorsen Engineering
Host: {P2.first}
Time in: {DT}
Badge: V-{DIGITS4}""",

"""Driver application
Applicant: {PM}
Driver's license: {DL}
SSN: {SSN}
Date of birth: {DOB}
Phone: {PHONE_US}
Email: {PM.email}
Previous employer: Coastline Freight""",

"""Formulaire d'inscription
Nom : {P.last}
Prénom : {P.first}
Date de naissance : {DOB_FR}
Adresse : {ADDR_FR}
Téléphone : {PHONE_FR}
Courriel : {P.email}""",

"""Solicitud de empleo
Nombre: {P}
Fecha de nacimiento: {DOB}
Correo: {P.email}
Teléfono: {PHONE}
Ciudad: {CITY}
IBAN para nómina: {IBAN}""",

"""EMERGENCY CONTACT UPDATE
Employee: {P}
Contact name: {P2}
Relationship: sibling (lives in {CITY})
Contact phone: {PHONE}
Contact email: {P2.email}
Contact address: {ADDR}""",

"""Dental intake
Name: {P}
DOB: {DOB}
Allergies: penicillin
Previous dentist: Dr. {P2.last}
Payment: Visa {CARD_VISA}
Phone: {PHONE}""",

"""Background check authorization
Legal name: {PM}
Other names used: {P2}
SSN: {SSN}
DOB: {DOB}
Current address: {ADDR_US}
Previous address: {ADDR_US}
Signed: {DATE}
Email: {PM.email}""",

"""Membership form — Harbourside Climbing Gym
Name: {P}
Email: {P.email}
Phone: {PHONE_AU}
Address: {ADDR_AU}
Date of birth: {DOB}
Membership: 12 months, {AMOUNT}
Card: {CARD}""",

"""Personalbogen
Name: {P}
Geburtsdatum: {DOB_DE}
Anschrift: {ADDR_DE}
Telefon: {PHONE_DE}
Bankverbindung: {IBAN_DE}
Steuer-ID: siehe Anlage
E-Mail: {P.email}""",

"""Discharge summary
Patient: {P}
Admitted: {DATE}
Discharged: {DATE}
Attending: Dr. {P2}
Follow-up: call {PHONE_US} to book within 2 weeks.""",

"""Contractor details
Name: {P}
Country of residence: {COUNTRY}
Payout IBAN: {IBAN}
Email: {P.email}
Phone: {PHONE}
Rate: {AMOUNT}/hour
Portfolio: [[URL:https://www.behance.net/portfolio-studio-k|https://dribbble.com/pixelfolk]]""",

"""Pharmacy record
Patient: {P} (DOB {DOB})
Prescriber: {P2}, DEA #{DEA}
Medication: amoxicillin 500 mg
Pickup phone: {PHONE_US}""",

"""Student registration
Student: {P}
Parent/guardian: {P2}
Home address: {ADDR_CA}
Parent phone: {PHONE_CA}
Parent email: {P2.email}
Payment for trip: {CARD}""",

"""Passport renewal worksheet
Applicant: {PM}
Current passport no.: {PASSPORT}
Issued: {DATE}
Place of birth: {CITY}, {COUNTRY}
SSN: {SSN}""",

"""W-4 info (do not email!)
Name: {P}
SSN: {SSN}
Address: {ADDR_US}
Phone: {PHONE_US}
Email: {P.email}
Filing status: married filing jointly
Spouse: {P2}, SSN {SSN}""",

"""Blood donor questionnaire
Donor: {P}
DOB: {DOB}
Last donation: {DATE}
Travel outside the country in the past 12 months: yes, {COUNTRY}
Contact: {P.email}""",

"""Vendor onboarding (sole trader)
Name: {P}
Trading address: {ADDR_UK}
Phone: {PHONE_UK}
Bank: {IBAN_GB}
Card for fees: {CARD}""",
]

SHIPPING = [
"""Your parcel {TRACK} is out for delivery today to {ADDR}. Your driver today is {P2.first}. Questions? Call {PHONE} or track live at [[URL:https://track.parcelnow.co.uk/live|https://parcelnow.co.uk/t/live-map]].""",
"""Delivery attempted — nobody was home at {ADDR_UK}. We left a card. Rebook at [[URL:https://redeliver.parcelnow.co.uk/rebook|https://www.parcelnow.co.uk/missed]] using reference {TRACK}.""",
"""Shipping confirmation for order {ORDER}
Ship to: {P}
{ADDR_US}
Items: 2 × Cedar Mug (SKU {SKU}), 1 × Travel Tumbler
Total: {AMOUNT} (charged to {CARD})
Carrier tracking: {TRACK}""",
"""Hi {P.first}, your parcel from Zalmo will arrive tomorrow morning at {ADDR_DE}. Reply STOP to opt out.""",
"""Colis {TRACK} : livraison prévue demain au {ADDR_FR}. Destinataire : {P}. Tél. {PHONE_FR}.""",
"""Return label created.
From: {P}, {ADDR_CA}
Email: {P.email}
To: Northwind Returns, {ADDR_CA}
RMA: RMA-{DIGITS5}""",
"""Courier note: leave with the neighbour at {ADDR_AU} if recipient {P} isn't home. Fragile — glassware. Consignment {TRACK}.""",
"""Address correction requested for shipment {TRACK}: old address {ADDR_US}, new address {ADDR_US}. Requested by {P} via {PHONE_US}.""",
"""Your order {ORDER} has shipped! It's on its way from our warehouse in {CITY} to {ADDR}. Estimated delivery: {DATE}.""",
"""Freight booking
Shipper: Kallisto Ceramics
Consignee: {P}, {ADDR_DE}
Pickup: {DT}
Pallets: 2, gross weight 340 kg
Reference: {INVOICE}""",
"""Paket konnte nicht zugestellt werden. Empfänger: {P}, {ADDR_DE}. Abholung in der Filiale ab morgen möglich. Sendungsnummer {TRACK}. Infos: [[URL:https://www.dhl.de/sendungsverfolgung|https://www.paket-service.de/filialsuche]]""",
"""Customs hold: package {TRACK} from {COUNTRY} addressed to {P} at {ADDR_UK} requires import VAT of {AMOUNT}. Pay at [[URL:https://customs.parcelnow.co.uk/pay|https://parcelnow.co.uk/duties]].""",
"""Delivery instructions from {P.first}: "Gate code is 4471, parcel box is to the left of the garage. Please don't ring, baby sleeping." Address: {ADDR_US}""",
"""Envío {TRACK}: su paquete llegará el {DATE} a {ADDR}. Para cambios, llame al {PHONE}.""",
"""Moving checklist for {P}: forward mail from {ADDR_UK} to {ADDR_UK} starting {DATE}. Notify bank, GP and council tax.""",
"""Dispatch ({CITY} depot, driver phone {PHONE_AU}): 3 stops today. 1) {ADDR_AU} – {P} 2) {ADDR_AU} – {P2} 3) {ADDR_AU} – leave at reception.""",
"""Your furniture delivery is scheduled for {DT}. Please make sure someone over 18 is at {ADDR_CA}. Crew lead {P2.first} can be reached on {PHONE_CA}.""",
"""Pickup request: {P} ({PHONE_FR}) – collect 1 box from {ADDR_FR} and deliver to {ADDR_FR}. Same-day service, quoted {AMOUNT}, paid by IBAN {IBAN}.""",
"""Ship-to changed on order {ORDER} by {P.email} from IP {IP4}. New ship-to: {ADDR_US}. Flagged because it differs from the billing address {ADDR_US}.""",
"""Lieferadresse: {ADDR_DE}
Rechnungsadresse: {ADDR_DE}
Kunde: {P}
E-Mail: {P.email}
Bestellnummer: {ORDER}""",
"""Hi {P.first}! Your Kallisto order {ORDER} was delivered to {ADDR_AU} and signed for by {P2.first}. Not you? Call us on {PHONE_AU}.""",
"""We couldn't verify the address {ADDR_US} for {P}. Please confirm the apartment number by replying to this text or emailing {P2.email}.""",
"""Welcome pack dispatched to {P} at {ADDR}. Contact on file: {P.email}, {PHONE}.""",
"""Gift order {ORDER}: from {P2} to {P}, {ADDR_UK}. Message on card: "Happy birthday, love from all of us!" Deliver on {DATE}.""",
]

MEETINGS = [
"""Meeting notes – vendor sync
Attendees: {P}, {P2}, {P3}
- {P2.first} to send updated pricing (list price {AMOUNT}/seat)
- Release {VER} slipped to next week
- Next meeting: {DT}
- Recording: [[URL:https://zoom.us/rec/share/4kTq9zLm2Q|https://teams.microsoft.com/l/meetup-join/19%3ameeting_NzQ]]""",
"""Standup {DATE}
{P.first} (remote from {CITY}): finished migration scripts, blocked on DB creds
{P2.first}: reviewing PR #4412
{P3.first}: out sick
Action: {P.first} to ping infra about the {IP4} allowlist""",
"""Notes from call with {P} (Velmora Foods, {CITY}):
• invoices to be sent to {P.email} monthly
• contract value ~{AMOUNT}
• decision by end of month
Follow-up owner: {P2}""",
"""Board meeting minutes, {DATE}
Present: {P}, {P2}, {P3}, {PM}
Apologies: {P4}
Chair: {P.first}
Next meeting in {CITY}, venue TBC
Secretary: {P2.email}""",
"""1:1 {P.first} / {P2.first}
- talked about relocation to {CITY}, {COUNTRY}
- {P.first} wants to start there by {DATE}
- HR contact: {P3} ({P3.email})""",
"""Retro – sprint 42
Went well: rollout of {VER} was smooth
Didn't go well: the staging box at {IP4} ran out of disk twice
Shout-out to {P.first} for the late-night fix""",
"""Interview debrief: candidate {P} (currently in {CITY}). Panel: {P2.first}, {P3.first}. Strong on SQL, weaker on system design. Reference check with previous manager at {PHONE}. Candidate email: {P.email}.""",
"""Site visit notes — {ADDR} on {DATE}
Met {P}, facilities manager ({PHONE}, {P.email}). Roof leak above unit 3. Quote to follow ({AMOUNT} est.).""",
"""Sales QBR: top accounts managed by {P} ({CITY}) and {P2} ({CITY2}). Pipeline {AMOUNT}. Launch of Atlas Suite {VER} moved to next quarter.""",
"""Workshop planning call
- venue: community hall at {ADDR_UK}
- date: {DATE}
- catering contact: {P}, {PHONE_UK}
- budget cap {AMOUNT}""",
"""Notas de la reunión: {P} presentó el presupuesto ({AMOUNT}). {P2.first} viaja a {CITY} el {DATE}. Próxima reunión: el martes.""",
"""Kick-off with client team
Client side: {P} (CTO), {P2} (PM)
Our side: {P3}
Comms: shared Slack channel + weekly summary to {P2.email}
Staging: [[URL:https://staging.velmora-foods.app|https://stage.velmora-foods.app/login]]""",
"""Parent-teacher meeting, {DT}. Teacher: Ms. {P.last}. Parent: {P2}. Discussed {P3.first}'s reading progress; next check-in after the winter break.""",
"""Incident review: outage from {TS} to {TS}. Root cause: expired TLS certificate on [[URL:https://api.quanta-net.io|https://status.quanta-net.io]]. On-call: {P}. Customer comms by {P2}.""",
"""Call with landlord {P} ({P.email}) re: lease at {ADDR_UK}. Rent goes up to {AMOUNT} from {DATE}. Deposit is protected with TDS. Rent to be paid to {IBAN_GB}.""",
"""Hiring committee: approved offer for {P} (relocating from {CITY} to {CITY2}). Start date {DATE}. Level L4. Recruiter: {P2.first}.""",
"""Mitschrift Teammeeting {DATE_DE}
Anwesend: {P}, {P2}, {P3}
- {P.first} übernimmt das Release {VER}
- Kundentermin in {CITY} verschoben""",
"""Family meeting re: mum's care. {P.first} will call the GP on {PHONE_UK}; {P2.first} handles the power of attorney; {P3.first} visits on Sundays.""",
"""Partner call – {P} from Lindner Sport joined from {CITY}. Agreed pilot for {AMOUNT}, invoiced to IBAN {IBAN_DE}. {P2.first} sends the contract to {P.email}; {P.first}'s direct line is {PHONE_DE}.""",
"""Offsite logistics: flights land at [[LOCATION:Heathrow Airport]]; hotel is {ADDR_UK}. Emergency contact during the trip: {P} on {PHONE_UK}.""",
"""Security review notes: admin panel reachable from {IP4} and {IP6}. {P.first} to restrict to the office range by Friday; {P2.first} reviews firewall rules.""",
"""Volunteer roster: {P} (mornings), {P2} (afternoons), {P3} (weekends). Questions to {P3.email} or {PHONE}. Sign-up sheet: [[URL:https://docs.google.com/spreadsheets/d/1Qv7HkR2p/edit|https://forms.gle/8XcQm2T9]]""",
]

LOGS = [
"""{TS} INFO  auth.login success user={P.email} ip={IP4} ua="Mozilla/5.0" session=8f3a2c1e""",
"""{TS} WARN  payment.gateway declined card={CARD_PLAIN} amount={NUM} currency=EUR order={ORDER} reason=insufficient_funds""",
"""{IP4} - - [{APACHE_TS}] "GET /api/v2/orders/{DIGITS5} HTTP/1.1" 200 5123 "[[URL:https://www.verdantplants.com/cart|https://verdantplants.com/products/monstera]]" "curl/{VER}\"""",
"""{TS} ERROR smtp.send failed to={P.email} code=550 msg="mailbox unavailable" relay={IP4}""",
"""{TS} DEBUG kyc.verify user_id=u_{DIGITS5} name="{P}" dob={DOB_ISO} ssn={SSN} result=MATCH""",
"""sms-worker INFO dispatch to={PHONE} template=otp_v3 provider=Twillo status=queued""",
"""{SYSLOG_TS} bastion sshd[2231]: Accepted publickey for deploy from {IP6} port 52144 ssh2""",
"""{TS} INFO webhook.received payload={"email":"{P.email}","phone":"{PHONE}","iban":"{IBAN_PLAIN}"}""",
"""[{TS}] app.crm: contact created id={DIGITS5} first_name={P.first} last_name={P.last} city={CITY} country_code=DE""",
"""worker-2 WARN rate_limit exceeded client={IP4} endpoint=/v1/search limit=100/min""",
"""{TS} INFO billing.iban_updated account=ACC-{DIGITS5} iban={IBAN_PLAIN} by={P2.email}""",
"""geo ERROR lookup failed ip={IP6} fallback_region=eu-west-1""",
"""{TS} INFO user.profile_update user={P.email} changed=[phone] old="{PHONE}" new="{PHONE}\"""",
"""{TS} INFO crypto.withdraw user=u_{DIGITS5} asset=BTC amount=0.015 to={BTC} status=pending_review""",
"""[edge-proxy] NOTICE redirect from [[URL:http://old.atlas-suite.net/pricing|http://www.atlas-suite.net/docs]] to [[URL:https://www.atlas-suite.net/pricing|https://atlas-suite.net/docs/v2]] status=301""",
"""{SYSLOG_TS} mail postfix/smtpd[1187]: connect from unknown[{IP4}]""",
"""{TS} INFO checkout.complete order={ORDER} total={NUM} ship_to="{ADDR_US}" customer="{P}\"""",
"""{TS} AUDIT admin={P2.email} viewed record patient="{P}" nhs={NHS} reason=clinical_review""",
"""level=warn ts={TS} msg="login from new device" user={P.email} ip={IP4} geo="{CITY}, {COUNTRY}\"""",
"""dl_verify: license={DL} holder="{P}" status=valid""",
"""{TS} ERROR payout.failed beneficiary="{P}" iban={IBAN_PLAIN} error=ACCOUNT_CLOSED retry=false""",
"""pbx call.completed from={PHONE} to={PHONE} duration=312s agent={P2.first}""",
"""{TS} WARN fraud.score high=0.93 card={CARD_PLAIN} ip={IP4} email={P.email}""",
"""vpn[311]: session user={P2.email} assigned={IP4} client_ip={IP6} duration=3h12m""",
"""{APACHE_TS_BARE} {IP4} POST /login 401 user={P.email}""",
"""payments ERROR tokenize failed pan={CARD_PLAIN} holder="{P}" merchant=Verdant Plants""",
"""audit: export by {P2.email} contains ssn={SSN} for employee="{P}" destination=[[URL:https://hr-exports.s3.amazonaws.com/batch-2291.csv|https://files.halvorsen-eng.com/export/payroll.csv]]""",
"""sepa-batch INFO credit iban={IBAN_PLAIN} name="{P}" amount={NUM} ref={INVOICE}""",
]

NO_PII = [
"""Hi there,

Thanks for contacting support. Your ticket {TICKET} has been received and an agent will respond within 24 hours. In the meantime, you can check the status of order {ORDER} in the app.

Kind regards,
The Support Team""",
"""Release notes for version 2.14.3: fixed a crash when exporting PDFs, improved sync speed, and updated translation files.""",
"""can you explain the difference between a Roth IRA and a traditional IRA? keep it simple pls""",
"""Invoice INV-2024-00871 for $1,249.00 is now overdue. Please arrange payment at your earliest convenience.""",
"""Sprint planning: story points for JIRA-4412 were re-estimated from 5 to 8 after the design review.""",
"""What's a good recipe for banana bread without eggs?""",
"""Reminder: the office will be closed next Monday for maintenance. Badges will not work until Tuesday morning.""",
"""Order #A-20931 contains 3 items: SKU HB-4471-BLK (x2), SKU HB-4471-WHT (x1). Subtotal €89,90.""",
"""worker-3 INFO job=reindex shard=7 docs=182334 duration_ms=5412 status=ok""",
"""Tracking number 1Z999AA10123456784 — status: in transit. Expected delivery: tomorrow by end of day.""",
"""How do I convert a list of tuples into a dictionary in Python 3.11?""",
"""Meeting notes: discussed the Q3 roadmap, agreed to deprecate API v1 by the end of the quarter, and to raise the free-tier limit to 500 requests per day.""",
"""Case 00457812 has been closed. If the issue persists, reply within 14 days to reopen it.""",
"""Please rate your experience with Halden Home Goods on a scale from 1 to 10.""",
"""Could you write a haiku about autumn rain?""",
"""The Pro plan costs $29/month or $290/year. Upgrading mid-cycle is prorated.""",
"""Build 4.2.0-rc1 failed: test_checkout_flow timed out after 30s on runner linux-x64-7.""",
"""Great news! Your refund of $45.20 for order 4417283390 has been processed.""",
"""Product recall notice: Lumio Desk Lamp, model LDL-200, batch 23-114. Stop using the product and contact the retailer.""",
"""tbh i dont get why my sourdough keeps coming out flat, any tips?""",
"""Ticket TCK-88213: customer reports the mobile app crashes on launch after update 3.8.1. Reproduced on Android 14. Assigned to the mobile team.""",
"""Quarterly revenue grew 12% to $4.3 million, driven by subscriptions to the Atlas Suite.""",
"""Shipping policy: orders over €50 ship free. Standard delivery takes 3–5 business days; express takes 1–2.""",
"""Welcome aboard! Your workspace has been created. Invite teammates from the Settings page and pick a plan before your trial ends in 14 days.""",
"""What are the symptoms of vitamin D deficiency and how is it usually treated?""",
"""Wie kann ich mein Passwort zurücksetzen? Ich finde den Link in der App nicht.""",
"""Est-ce que la garantie couvre les dégâts des eaux ? Merci d'avance.""",
"""¿Cuál es la diferencia entre "ser" y "estar"? Dame ejemplos sencillos.""",
"""Standup: backend finished the cache rewrite; frontend is still blocked on design tokens. Demo moved to Thursday.""",
"""Warehouse count: 412 units of SKU KT-880-RED, 96 units of SKU KT-880-BLU. Reorder threshold is 100.""",
"""Error 504: upstream timed out while reading response header. Retry in a few minutes.""",
"""Summarize the main causes of the French Revolution in five bullet points.""",
"""Can you recommend three board games for a family with kids aged 8 and 11?""",
"""Thanks for your feedback! We've passed it on to the product team. Feature request FR-2291 is now under review.""",
"""Pricing update: starting next month, the Basic tier goes from $9.99 to $11.99. Existing annual subscribers keep their rate until renewal.""",
"""cron: nightly backup completed, 48.2 GB written, checksum ok, retention 30 days""",
"""Agenda for Friday: 1) budget review 2) hiring plan 3) office move logistics 4) AOB""",
"""Please do not reply to this automated message. Reference number: REF-7734-QX.""",
"""pip install failed: Could not find a version that satisfies the requirement torch==2.9.7""",
"""How many tablespoons are in a quarter cup?""",
"""Customer satisfaction in March was 4.6 out of 5 across 1,280 responses.""",
"""The new Kestrel X5 phone ships with 256 GB of storage and a 5,000 mAh battery. Pre-orders open next week.""",
"""Your subscription will renew automatically tomorrow. No action is needed.""",
"""Hey, quick question about the API — does the /v2/orders endpoint support cursor pagination or only offsets?""",
"""Invoice 2023-0419 and credit note CN-0082 have been reconciled. Remaining balance: $0.00.""",
"""Case 884213: the customer's router (firmware 1.0.12) needed a factory reset. Issue resolved, closing.""",
"""Tip of the day: press Ctrl+Shift+P to open the command palette.""",
"""Can you explain what a mod-97 checksum is and why banks use it?""",
]
