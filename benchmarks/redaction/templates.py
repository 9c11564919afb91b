"""Hand-written chat templates for the redaction evaluation set, per language.

Each template starts with ``A|`` (airline) or ``R|`` (fashion retailer). A slot
``{TYPE}`` or ``{TYPE:variant}`` with an upper-case entity type is personal data:
it is filled by :data:`benchmarks.redaction.values.PERSONAL` and gets a gold span.
A lower-case slot (``{city}``, ``{flight}``, ``{price}``, ...) is a negative: it is
filled by :data:`benchmarks.redaction.values.NEGATIVE` and must *not* be redacted.
Typos, lower case and a few mixed-language messages are deliberate.
"""

from __future__ import annotations

TEMPLATES: dict[str, tuple[str, ...]] = {
    "en": (
        "A|Hi, my name is {PERSON} and my booking ref is {BOOKING_REFERENCE}. Can I change "
        "my flight {flight} on {date} to a later one?",
        "A|hi im {PERSON:lower}, flying {iata} to {iata} tomorrow, can i add a {kg} bag?",
        "A|My e-ticket number is {TICKET_NUMBER}, the app says the seat {seat} is gone??",
        "A|Please add my Miles & More number {FREQUENT_FLYER_NUMBER:mm} to booking "
        "{BOOKING_REFERENCE}",
        "A|flying blue no. {FREQUENT_FLYER_NUMBER:fb} wasnt credited for {flight} from {city}",
        "A|Passport number {PASSPORT_NUMBER}, expires next year, is that ok for {city}?",
        "A|You can reach me on {PHONE_NUMBER} after {time}, thanks",
        "A|Refund please to IBAN {IBAN_CODE}, account holder {PERSON}",
        "A|I was charged twice ({price}) on card {CREDIT_CARD} for the {city} flight",
        "A|Mr {PERSON:last} is travelling with me, his date of birth is {DATE_OF_BIRTH}",
        "A|Is flight {flight} from {iata} on time? It should leave at {time}.",
        "A|how much is an extra bag of {kg} on the {city} - {city} route? online it says {price}",
        "A|My partner {PERSON:other} and I are booked on {flight} on {date}, can we sit together "
        "in row {seat}?",
        "A|Send the invoice to {EMAIL_ADDRESS} please, name on booking is {PERSON}",
        "A|i shared the boarding pass screenshot here {URL:doc}",
        "A|Our home address for the lost bag: {STREET_ADDRESS}",
        "A|my email is {EMAIL_ADDRESS:obf}, the confirmation for {BOOKING_REFERENCE:lower} never "
        "arrived",
        "A|born {DATE_OF_BIRTH}, the name on the ticket is misspelt, should be {PERSON}",
        "A|The login keeps failing, my password is {CREDENTIAL:pw} - can you reset it?",
        "A|I'm Dr {PERSON:last}, ticket {TICKET_NUMBER}, I need special assistance at {iata}",
        "R|Hi, I ordered the {product} in size {size} (order {order}) but got {size}. Name is "
        "{PERSON}.",
        "R|can u send the return label to {EMAIL_ADDRESS}? order {order}",
        "R|the {product} was {price} online but I paid more, card ending in, well, full number "
        "{CREDIT_CARD:dots}",
        "R|Please deliver to {STREET_ADDRESS} instead, order {order}",
        "R|My number is {PHONE_NUMBER} if the courier needs it",
        "R|Does the {product} come in {size}? And what does shipping to {city} cost?",
        "R|i cant log in from {IP_ADDRESS}, it says my account is blocked. email "
        "{EMAIL_ADDRESS:zw}",
        "R|Here's a photo of the damaged {product}: {URL:doc}",
        "R|I sent you a DM from {URL:profile} about order {order}, no answer yet",
        "R|our dev used key {CREDENTIAL:aws} for your order API, is that the right one? "
        "Also token {CREDENTIAL:gh}",
        "R|Hallo, my parcel for order {order} never arrived, I'm {PERSON} from {city}",
        "A|Can I pay the {price} difference with card {CREDIT_CARD:fw}?",
        "A|I live in Spain, my NIE is {NATIONAL_ID:es_nie} - do I get the resident discount to "
        "{city}?",
        "R|for the invoice pls use my codice fiscale {NATIONAL_ID:it_cf}, order {order}",
        "A|new passport {PASSPORT_NUMBER} issued {date}, please update booking {BOOKING_REFERENCE}",
        "A|Landed in {city} but my bag didn't, call {PHONE_NUMBER:gb} "
        "or my sister {PERSON:other} on {PHONE_NUMBER:nl}",
    ),
    "de": (
        "A|Hallo, ich heiße {PERSON} und meine Buchungsnummer ist {BOOKING_REFERENCE}. Kann ich "
        "den Flug {flight} am {date} umbuchen?",
        "A|hallo, hier ist {PERSON:lower}, ich fliege morgen von {iata} nach {iata}, darf ich "
        "{kg} mitnehmen?",
        "A|Meine Ticketnummer lautet {TICKET_NUMBER}, Sitz {seat} ist plötzlich weg",
        "A|Bitte meine Miles & More Nummer {FREQUENT_FLYER_NUMBER:mm} nachtragen, Buchung "
        "{BOOKING_REFERENCE}",
        "A|Reisepassnummer {PASSPORT_NUMBER}, reicht das für die Einreise nach {city}?",
        "A|Sie erreichen mich unter {PHONE_NUMBER} ab {time} Uhr",
        "A|Erstattung bitte auf IBAN {IBAN_CODE}, Kontoinhaber {PERSON}",
        "A|Mir wurden {price} doppelt abgebucht, Kreditkarte {CREDIT_CARD}",
        "A|Frau {PERSON:last} reist mit mir, Geburtsdatum {DATE_OF_BIRTH}",
        "A|Ist {flight} aus {city} pünktlich? Abflug soll {time} sein.",
        "A|was kostet ein zusätzlicher Koffer mit {kg} nach {city}? online steht {price}",
        "A|Ich und {PERSON:other} fliegen am {date} mit {flight}, können wir "
        "zusammen sitzen (Reihe {seat})?",
        "A|Rechnung bitte an {EMAIL_ADDRESS}, die Buchung läuft auf {PERSON}",
        "A|Hier der Screenshot von der Bordkarte: {URL:doc}",
        "A|Adresse für den verlorenen Koffer: {STREET_ADDRESS}",
        "A|meine mail ist {EMAIL_ADDRESS:obf}, die Bestätigung für {BOOKING_REFERENCE:lower} kam "
        "nie an",
        "A|geb. am {DATE_OF_BIRTH}, der Name auf dem Ticket ist falsch geschrieben, richtig "
        "ist {PERSON}",
        "A|Login geht nicht, mein Passwort ist {CREDENTIAL:pw} - bitte zurücksetzen",
        "A|Steuer-ID für die Rechnung: {NATIONAL_ID:de_idnr}",
        "A|Guten Tag, Herr {PERSON:last} hier, Ticket {TICKET_NUMBER}, ich brauche Hilfe "
        "am Gate in {iata}",
        "R|Hallo, ich habe {product} in Größe {size} bestellt (Bestellung {order}), bekommen "
        "habe ich {size}. {PERSON}",
        "R|kannst du das Retourenetikett an {EMAIL_ADDRESS} schicken? Bestellnr {order}",
        "R|die {product} kostete {price}, abgebucht wurde mehr. Karte {CREDIT_CARD:zw}",
        "R|Bitte stattdessen an {STREET_ADDRESS} liefern",
        "R|Meine Handynummer: {PHONE_NUMBER:dots}, falls der Kurier anrufen muss",
        "R|Gibt es den {product} auch in {size}? Was kostet der Versand nach {city}?",
        "R|ich komme von {IP_ADDRESS} nicht ins Konto, angeblich gesperrt. Mail {EMAIL_ADDRESS}",
        "R|Foto vom kaputten Artikel: {URL:doc}",
        "R|Hab euch von {URL:profile} geschrieben wegen Bestellung {order}, keine Antwort",
        "R|Hi, my order {order} ist nicht angekommen, bin {PERSON} aus {city}",
        "A|Kann ich die Differenz von {price} mit IBAN {IBAN_CODE:lower} zahlen?",
        "A|Mein Name: {PERSON}, Flying Blue {FREQUENT_FLYER_NUMBER:fb}, Flug {flight} am {date}",
        "A|Koffer fehlt in {city}, bitte Rückruf unter {PHONE_NUMBER:at} oder {PHONE_NUMBER:ch}",
        "A|Für die APIS-Daten: Pass {PASSPORT_NUMBER}, geboren {DATE_OF_BIRTH}, {PERSON}",
    ),
    "fr": (
        "A|Bonjour, je m'appelle {PERSON} et ma référence de réservation est "
        "{BOOKING_REFERENCE}. Puis-je changer le vol {flight} du {date} ?",
        "A|bonjour c'est {PERSON:lower}, je pars de {iata} pour {iata} demain, je peux prendre "
        "un bagage de {kg} ?",
        "A|Mon numéro de billet est {TICKET_NUMBER}, le siège {seat} a disparu",
        "A|Merci d'ajouter mon numéro Flying Blue {FREQUENT_FLYER_NUMBER:fb} à la réservation "
        "{BOOKING_REFERENCE}",
        "A|Numéro de passeport {PASSPORT_NUMBER}, il expire l'an prochain, ça passe pour {city} ?",
        "A|Vous pouvez me joindre au {PHONE_NUMBER} après {time}",
        "A|Remboursement sur l'IBAN {IBAN_CODE} svp, titulaire {PERSON}",
        "A|On m'a débité deux fois {price} sur la carte {CREDIT_CARD}",
        "A|Mme {PERSON:last} voyage avec moi, sa date de naissance est le {DATE_OF_BIRTH}",
        "A|Le vol {flight} au départ de {city} est-il à l'heure ? Départ prévu à {time}.",
        "A|combien coûte un bagage en plus de {kg} pour {city} ? sur le site c'est {price}",
        "A|{PERSON:other} et moi sommes sur le {flight} le {date}, on peut être assis "
        "ensemble, rang {seat} ?",
        "A|Envoyez la facture à {EMAIL_ADDRESS}, la réservation est au nom de {PERSON}",
        "A|voici la capture de ma carte d'embarquement {URL:doc}",
        "A|Adresse pour la valise perdue : {STREET_ADDRESS}",
        "A|mon mail c'est {EMAIL_ADDRESS:obf}, je n'ai jamais reçu la confirmation "
        "{BOOKING_REFERENCE:lower}",
        "A|né le {DATE_OF_BIRTH}, le nom sur le billet est mal écrit, c'est {PERSON}",
        "A|Impossible de me connecter, mon mot de passe est {CREDENTIAL:pw}, pouvez-vous le "
        "réinitialiser ?",
        "A|Mon numéro de sécurité sociale {NATIONAL_ID:fr_nir} est demandé pour le formulaire ?",
        "A|Bonjour, M. {PERSON:last}, billet {TICKET_NUMBER}, j'ai besoin d'assistance à {iata}",
        "R|Bonjour, j'ai commandé {product} en taille {size} (commande {order}) et reçu du "
        "{size}. {PERSON}",
        "R|tu peux envoyer l'étiquette de retour à {EMAIL_ADDRESS} ? commande {order}",
        "R|le {product} était à {price} mais j'ai payé plus, carte {CREDIT_CARD:fw}",
        "R|Livrez plutôt au {STREET_ADDRESS} svp",
        "R|Mon portable : {PHONE_NUMBER} si le livreur a besoin",
        "R|Le {product} existe en {size} ? Et la livraison vers {city} coûte combien ?",
        "R|je n'arrive pas à me connecter depuis {IP_ADDRESS}, compte bloqué. mail "
        "{EMAIL_ADDRESS:zw}",
        "R|Photo de l'article abîmé : {URL:doc}",
        "R|Je vous ai écrit en MP depuis {URL:profile} pour la commande {order}",
        "R|Hello, ma commande {order} n'est jamais arrivée, je suis {PERSON} de {city}",
        "A|Je peux payer les {price} de différence avec la carte {CREDIT_CARD:dots} ?",
        "A|Je suis {PERSON}, Miles & More {FREQUENT_FLYER_NUMBER:mm}, vol {flight} le {date}",
        "A|Ma valise n'est pas arrivée à {city}, rappelez-moi au {PHONE_NUMBER:be} "
        "ou au {PHONE_NUMBER:lu}",
        "A|Infos APIS : passeport {PASSPORT_NUMBER}, né le {DATE_OF_BIRTH}, {PERSON}",
    ),
    "it": (
        "A|Buongiorno, mi chiamo {PERSON} e il mio codice di prenotazione è "
        "{BOOKING_REFERENCE}. Posso cambiare il volo {flight} del {date}?",
        "A|ciao sono {PERSON:lower}, parto da {iata} per {iata} domani, posso portare {kg}?",
        "A|Il mio numero di biglietto è {TICKET_NUMBER}, il posto {seat} non c'è più",
        "A|Potete aggiungere il mio Miles & More {FREQUENT_FLYER_NUMBER:mm} alla prenotazione "
        "{BOOKING_REFERENCE}?",
        "A|Numero passaporto {PASSPORT_NUMBER}, scade l'anno prossimo, va bene per {city}?",
        "A|Mi potete chiamare al {PHONE_NUMBER} dopo le {time}",
        "A|Rimborso sull'IBAN {IBAN_CODE} per favore, intestatario {PERSON}",
        "A|Mi avete addebitato due volte {price} sulla carta {CREDIT_CARD}",
        "A|La Sig.ra {PERSON:last} viaggia con me, data di nascita {DATE_OF_BIRTH}",
        "A|Il volo {flight} da {city} è in orario? Dovrebbe partire alle {time}.",
        "A|quanto costa un bagaglio extra da {kg} per {city}? sul sito dice {price}",
        "A|Io e {PERSON:other} siamo sul {flight} il {date}, possiamo sederci vicini, fila {seat}?",
        "A|Mandate la fattura a {EMAIL_ADDRESS}, la prenotazione è a nome {PERSON}",
        "A|ecco lo screenshot della carta d'imbarco {URL:doc}",
        "A|Indirizzo per la valigia smarrita: {STREET_ADDRESS}",
        "A|la mia mail è {EMAIL_ADDRESS:obf}, la conferma {BOOKING_REFERENCE:lower} non è mai "
        "arrivata",
        "A|nato il {DATE_OF_BIRTH}, il nome sul biglietto è sbagliato, è {PERSON}",
        "A|Non riesco ad accedere, la mia password è {CREDENTIAL:pw}, potete resettarla?",
        "A|Il mio codice fiscale per la fattura: {NATIONAL_ID:it_cf}",
        "A|Salve, sono il Sig. {PERSON:last}, biglietto {TICKET_NUMBER}, mi serve assistenza "
        "a {iata}",
        "R|Salve, ho ordinato {product} taglia {size} (ordine {order}) ma è arrivata la {size}. "
        "{PERSON}",
        "R|mi mandi l'etichetta di reso a {EMAIL_ADDRESS}? ordine {order}",
        "R|il {product} costava {price} ma ho pagato di più, carta {CREDIT_CARD:zw}",
        "R|Consegnate invece in {STREET_ADDRESS}",
        "R|Il mio cellulare {PHONE_NUMBER} se serve al corriere",
        "R|Il {product} c'è in {size}? Quanto costa la spedizione a {city}?",
        "R|non riesco ad entrare da {IP_ADDRESS}, account bloccato. mail {EMAIL_ADDRESS}",
        "R|Foto dell'articolo rovinato: {URL:doc}",
        "R|Vi ho scritto in DM da {URL:profile} per l'ordine {order}, niente risposta",
        "R|Hi, il mio ordine {order} non è mai arrivato, sono {PERSON} di {city}",
        "A|Posso pagare i {price} di differenza con IBAN {IBAN_CODE}?",
        "A|Sono {PERSON}, ITA Volare no, scusate, Flying Blue {FREQUENT_FLYER_NUMBER:fb}, volo "
        "{flight} il {date}",
        "A|La valigia non è arrivata a {city}, richiamatemi al {PHONE_NUMBER:it} "
        "o al {PHONE_NUMBER:ch}",
        "A|Dati APIS: passaporto {PASSPORT_NUMBER}, nato il {DATE_OF_BIRTH}, {PERSON}",
    ),
    "pt": (
        "A|Olá, chamo-me {PERSON} e o meu código de reserva é {BOOKING_REFERENCE}. Posso "
        "alterar o voo {flight} de {date}?",
        "A|ola aqui é {PERSON:lower}, vou de {iata} para {iata} amanha, posso levar {kg}?",
        "A|O número do meu bilhete é {TICKET_NUMBER}, o lugar {seat} desapareceu",
        "A|Podem juntar o meu número TAP Miles&Go {FREQUENT_FLYER_NUMBER:tap} à reserva "
        "{BOOKING_REFERENCE}?",
        "A|Passaporte nº {PASSPORT_NUMBER}, caduca para o ano, serve para {city}?",
        "A|Podem ligar-me para o {PHONE_NUMBER} depois das {time}",
        "A|Reembolso para o IBAN {IBAN_CODE} por favor, titular {PERSON}",
        "A|Cobraram-me {price} duas vezes no cartão {CREDIT_CARD}",
        "A|A Sra. {PERSON:last} viaja comigo, data de nascimento {DATE_OF_BIRTH}",
        "A|O voo {flight} de {city} está a horas? Devia sair às {time}.",
        "A|quanto custa uma mala extra de {kg} para {city}? no site diz {price}",
        "A|Eu e {PERSON:other} vamos no {flight} dia {date}, podemos ficar juntos na fila {seat}?",
        "A|Enviem a fatura para {EMAIL_ADDRESS}, a reserva está em nome de {PERSON}",
        "A|aqui está o print do cartão de embarque {URL:doc}",
        "A|Morada para a mala perdida: {STREET_ADDRESS}",
        "A|o meu email é {EMAIL_ADDRESS:obf}, nunca recebi a confirmação {BOOKING_REFERENCE:lower}",
        "A|nascida a {DATE_OF_BIRTH}, o nome no bilhete está mal escrito, é {PERSON}",
        "A|Não consigo entrar, a minha senha é {CREDENTIAL:pw}, podem repor?",
        "A|NIF para a fatura: {NATIONAL_ID:pt_nif}",
        "A|Cartão de Cidadão {NATIONAL_ID:pt_cc}, preciso de o indicar no check-in?",
        "A|Boa tarde, fala o Sr. {PERSON:last}, bilhete {TICKET_NUMBER}, preciso de assistência "
        "em {iata}",
        "R|Boa tarde, encomendei {product} tamanho {size} (encomenda {order}) e veio {size}. "
        "{PERSON}",
        "R|pode mandar a etiqueta de devolução para {EMAIL_ADDRESS}? encomenda {order}",
        "R|a {product} custava {price} mas paguei mais, cartão {CREDIT_CARD:dots}",
        "R|Entreguem antes na {STREET_ADDRESS}, NIF {NATIONAL_ID:pt_nif}",
        "R|O meu telemóvel é {PHONE_NUMBER}, caso o estafeta precise",
        "R|A {product} há no {size}? Quanto custa o envio para {city}?",
        "R|não consigo entrar a partir de {IP_ADDRESS}, conta bloqueada. email {EMAIL_ADDRESS:zw}",
        "R|Foto do artigo danificado: {URL:doc}",
        "R|Mandei mensagem pelo {URL:profile} sobre a encomenda {order}, sem resposta",
        "R|Hello, a minha encomenda {order} nunca chegou, sou {PERSON}, de {city}",
        "A|Posso pagar os {price} de diferença com o cartão {CREDIT_CARD:fw}?",
        "A|Vou para Santos no dia {date}, o {flight} sai de {iata} às {time}?",
        "A|A mala não chegou a {city}, liguem-me para o {PHONE_NUMBER:pt} "
        "ou para o {PHONE_NUMBER:lu}",
        "A|Dados APIS: passaporte {PASSPORT_NUMBER}, nascido a {DATE_OF_BIRTH}, {PERSON}",
    ),
    "es": (
        "A|Hola, me llamo {PERSON} y mi localizador es {BOOKING_REFERENCE}. ¿Puedo cambiar el "
        "vuelo {flight} del {date}?",
        "A|hola soy {PERSON:lower}, vuelo de {iata} a {iata} mañana, puedo llevar {kg}?",
        "A|Mi número de billete es {TICKET_NUMBER}, el asiento {seat} ha desaparecido",
        "A|¿Podéis añadir mi Iberia Plus {FREQUENT_FLYER_NUMBER:ib} a la reserva "
        "{BOOKING_REFERENCE}?",
        "A|Pasaporte número {PASSPORT_NUMBER}, caduca el año que viene, ¿vale para {city}?",
        "A|Podéis llamarme al {PHONE_NUMBER} a partir de las {time}",
        "A|Reembolso al IBAN {IBAN_CODE} por favor, titular {PERSON}",
        "A|Me habéis cobrado {price} dos veces en la tarjeta {CREDIT_CARD}",
        "A|La Sra. {PERSON:last} viaja conmigo, fecha de nacimiento {DATE_OF_BIRTH}",
        "A|¿El vuelo {flight} desde {city} va en hora? Tenía que salir a las {time}.",
        "A|cuanto cuesta una maleta extra de {kg} a {city}? en la web pone {price}",
        "A|{PERSON:other} y yo vamos en el {flight} el {date}, ¿podemos sentarnos "
        "juntos en la fila {seat}?",
        "A|Enviad la factura a {EMAIL_ADDRESS}, la reserva está a nombre de {PERSON}",
        "A|aquí la captura de la tarjeta de embarque {URL:doc}",
        "A|Dirección para la maleta perdida: {STREET_ADDRESS}",
        "A|mi correo es {EMAIL_ADDRESS:obf}, nunca me llegó la confirmación "
        "{BOOKING_REFERENCE:lower}",
        "A|nacida el {DATE_OF_BIRTH}, el nombre en el billete está mal, es {PERSON}",
        "A|No puedo entrar, mi contraseña es {CREDENTIAL:pw}, ¿me la podéis resetear?",
        "A|Mi DNI es {NATIONAL_ID:es_dni}, ¿lo necesitáis para el check-in?",
        "A|NIE {NATIONAL_ID:es_nie}, soy residente, ¿tengo descuento a {city}?",
        "A|Buenas, soy el Sr. {PERSON:last}, billete {TICKET_NUMBER}, necesito asistencia en "
        "{iata}",
        "R|Hola, pedí {product} talla {size} (pedido {order}) y me llegó una {size}. {PERSON}",
        "R|me mandas la etiqueta de devolución a {EMAIL_ADDRESS}? pedido {order}",
        "R|el {product} costaba {price} pero pagué más, tarjeta {CREDIT_CARD:zw}",
        "R|Mejor entregadlo en {STREET_ADDRESS}",
        "R|Mi móvil es {PHONE_NUMBER} por si el repartidor lo necesita",
        "R|¿El {product} lo tenéis en {size}? ¿Cuánto cuesta el envío a {city}?",
        "R|no puedo entrar desde {IP_ADDRESS}, cuenta bloqueada. correo {EMAIL_ADDRESS}",
        "R|Foto del artículo dañado: {URL:doc}",
        "R|Os escribí por DM desde {URL:profile} por el pedido {order}, sin respuesta",
        "R|Hi, mi pedido {order} nunca llegó, soy {PERSON} de {city}",
        "A|¿Puedo pagar los {price} de diferencia con la tarjeta {CREDIT_CARD:fw}?",
        "A|Soy {PERSON}, mi correo {EMAIL_ADDRESS}, teléfono {PHONE_NUMBER:dots}",
        "A|Mi maleta no llegó a {city}, llamadme al {PHONE_NUMBER:es} o al {PHONE_NUMBER:de}",
        "A|Datos APIS: pasaporte {PASSPORT_NUMBER}, nacido el {DATE_OF_BIRTH}, {PERSON}",
    ),
}
