# -*- coding: utf-8 -*-
"""Hand-written value lists and value generators for the independent PII/secrets
evaluation corpus.

Everything in this file was typed from general knowledge. Nothing was downloaded,
no name package or Faker was used, and nothing was copied from the detector.

All generators take a ``random.Random`` instance so that the corpus is
reproducible from a single seed.
"""

import base64
import hashlib
import json
import string
import unicodedata


def L(s):
    """Split a comma separated block into a clean list (names may contain
    spaces, apostrophes and hyphens, never commas)."""
    out = []
    for x in s.replace("\n", ",").split(","):
        x = x.strip()
        if x:
            out.append(x)
    return out


# ---------------------------------------------------------------------------
# PERSON NAMES
# ---------------------------------------------------------------------------
# given names are split by gender so that honorifics and agreeing greetings
# ("Sehr geehrte Frau", "Estimado Sr.") can be generated correctly.

GIVEN = {}
FAMILY = {}

# English: US, UK, Ireland, Australia, India, plus immigrant names
GIVEN["en"] = {
    "f": L("""
Emma, Olivia, Ava, Sophia, Isabella, Mia, Charlotte, Amelia, Harper, Evelyn,
Abigail, Emily, Elizabeth, Madison, Avery, Ella, Scarlett, Grace, Chloe,
Victoria, Riley, Lily, Zoey, Penelope, Hannah, Layla, Nora, Hazel, Ellie,
Stella, Natalie, Leah, Audrey, Savannah, Brooklyn, Claire, Lucy, Caroline,
Aaliyah, Kennedy, Allison, Maya, Sarah, Madeline, Naomi, Alice, Sadie,
Hailey, Autumn, Piper, Ruby, Willow, Cora, Lydia, Peyton, Melanie, Julia,
Vivian, Mackenzie, Siobhán, Aoife, Niamh, Saoirse, Róisín, Caoimhe, Ciara,
Orla, Gráinne, Eimear, Sinéad, Bronwyn, Kylie, Sheila, Priya, Ananya, Aditi,
Kavya, Lakshmi, Deepika, Sneha, Pooja, Divya, Meera, Shreya, Nisha, Gwen,
Fiona, Morag, Eilidh, Kirsty, Rhiannon, Bethan, Gemma, Tracey, Joanne,
Debbie, Beverley, Hayley, Jade, Megan, May, April, June, Hope, Faith, Dawn,
Ngozi, Chiamaka, Mei, Yuki, Fatima, Aisha, Zainab, Tamsin, Imogen, Harriet,
Philippa, Jocelyn, Shanice, Latoya, Keisha, Guadalupe, Rosa, Tiffany, Brittany
"""),
    "m": L("""
Liam, Noah, William, James, Oliver, Benjamin, Elijah, Lucas, Mason, Logan,
Alexander, Ethan, Jacob, Michael, Daniel, Henry, Jackson, Sebastian, Aiden,
Matthew, Samuel, David, Joseph, Carter, Owen, Wyatt, John, Jack, Luke,
Dylan, Grayson, Levi, Isaac, Gabriel, Julian, Anthony, Lincoln, Joshua,
Christopher, Andrew, Theodore, Caleb, Ryan, Nathan, Thomas, Leo, Isaiah,
Charles, Hudson, Christian, Hunter, Connor, Eli, Ezra, Aaron, Landon,
Adrian, Jonathan, Nolan, Jeremiah, Colton, Cameron, Robert, Nicholas,
Dominic, Adam, Ian, Austin, Jordan, Cooper, Evan, Xavier, Seán, Ciarán,
Oisín, Pádraig, Cillian, Darragh, Eoin, Tadhg, Fionn, Colm, Diarmuid,
Ruairí, Rhys, Gareth, Dafydd, Hamish, Angus, Callum, Alasdair, Bruce, Shane,
Darren, Lachlan, Rahul, Arjun, Vikram, Rohan, Aditya, Sanjay, Amit, Karthik,
Siddharth, Vivek, Rajesh, Suresh, Anil, Pranav, Gurpreet, Manish, Will,
Mark, Bill, Rob, Pat, Chuck, Chinedu, Emeka, Tunde, Kwame, Wei, Hiroshi,
Mohammed, Omar, Tariq, Nigel, Clive, Trevor, Graham, Rupert, Tristan,
Barry, Keith, Terrence, DeShawn, Tyrone, Marcus, Jamal, Carlos, Duc
"""),
}
FAMILY["en"] = L("""
Smith, Johnson, Williams, Brown, Jones, Garcia, Miller, Davis, Rodriguez,
Martinez, Hernandez, Lopez, Gonzalez, Wilson, Anderson, Thomas, Taylor,
Moore, Jackson, Martin, Lee, Thompson, White, Harris, Clark, Lewis,
Robinson, Walker, Young, Allen, King, Wright, Scott, Hill, Green, Adams,
Nelson, Baker, Hall, Campbell, Mitchell, Carter, Roberts, Phillips, Evans,
Turner, Parker, Edwards, Collins, Stewart, Morris, Murphy, Cook, Rogers,
Morgan, Cooper, Peterson, Bailey, Reed, Kelly, Howard, Cox, Ward,
Richardson, Watson, Brooks, Wood, Bennett, Gray, Hughes, Price, Sanders,
Myers, Long, Ross, Foster, Davies, Jenkins, Pritchard, Llewellyn,
Fairweather, Ashworth, Whitfield, Thornton, Cartwright, Blackwood,
Holloway, Pemberton, Featherstonehaugh, Smyth-Jones, Bowes-Lyon,
Worthington-Smythe, O'Brien, O'Connor, O'Sullivan, O'Neill, McCarthy,
Ó Súilleabháin, Ní Bhriain, Fitzgerald, Byrne, Kavanagh, Ní Dhomhnaill,
Mac Giolla Phádraig, Mulcahy, Geraghty, Donnelly, MacDonald, McLeod,
Fraser, Sutherland, MacKenzie, Nguyen, Tran, Papadopoulos, Kowalczyk,
Sharma, Iyer, Reddy, Nair, Gupta, Mehta, Krishnan, Banerjee, Chatterjee,
Singh, Kaur, Desai, Joshi, Pillai, Menon, Venkataraman, Subramanian,
Okafor, Adeyemi, Mensah, Okonkwo, Kowalski, Yılmaz, Khan, Ahmed, Hussain,
Chen, Wong, Tanaka, Kim, Park, Street, London, Bishop, Mason, Fisher,
Goldberg, Rosenthal, Abernathy, Whitaker, Ramsbottom, Higginbotham,
Quigley, Dunne, Brennan, Walsh, Fletcher, Chambers, Doyle, Hartley,
Sinclair, Armstrong, Kerr, Patel, Dhillon, Sandhu
""")

# German (DE, AT, CH), including Turkish, Polish, Balkan, Vietnamese Germans
GIVEN["de"] = {
    "f": L("""
Anna, Maria, Sophie, Lena, Lea, Laura, Julia, Katharina, Sarah, Lisa,
Johanna, Hannah, Emma, Mia, Leonie, Lara, Clara, Charlotte, Marie, Emilia,
Greta, Frieda, Ida, Mathilda, Luise, Paula, Ella, Lina, Amelie, Helene,
Elisabeth, Ursula, Gisela, Brigitte, Ingrid, Renate, Monika, Petra, Sabine,
Andrea, Claudia, Susanne, Birgit, Heike, Anja, Nicole, Stefanie, Kerstin,
Silke, Tanja, Katrin, Melanie, Nadine, Jessica, Jana, Franziska, Theresa,
Magdalena, Veronika, Annika, Svenja, Wiebke, Frauke, Imke, Hildegard,
Gertrud, Irmgard, Waltraud, Edeltraud, Dörte, Jördis, Gülşen, Ayşe, Elif,
Zeynep, Agnieszka, Natalia, Swetlana, Jelena, Anke, Ute, Doris, Bärbel,
Käthe, Lotte, Marlene, Romy, Jasmin, Hanna-Lena, Anne-Kathrin, Maren,
Merle, Carolin, Vreni, Regula
"""),
    "m": L("""
Lukas, Leon, Maximilian, Felix, Paul, Jonas, Tim, Niklas, Jan, Finn, Ben,
Elias, Noah, Luis, Moritz, Jakob, Tobias, David, Julian, Philipp,
Alexander, Simon, Florian, Sebastian, Fabian, Daniel, Christian, Michael,
Thomas, Andreas, Stefan, Markus, Matthias, Martin, Frank, Jürgen, Klaus,
Wolfgang, Dieter, Uwe, Rainer, Günter, Horst, Helmut, Manfred, Werner,
Hans-Peter, Karl-Heinz, Jörg, Björn, Sören, Jens, Holger, Torsten, Dirk,
Sven, Kai, Lars, Ole, Hauke, Malte, Henning, Ulrich, Bernd, Gerhard,
Hermann, Friedrich, Heinrich, Konrad, Ludwig, Emil, Anton, Theo, Mats,
Mehmet, Mustafa, Emre, Ali, Piotr, Dmitri, Goran, Luca, Ömer, Till,
Joachim, Volker, Reinhold, Götz, Eckhard, Kevin, Dennis, Marcel, Pascal,
Urs, Beat, Reto
"""),
}
FAMILY["de"] = L("""
Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz,
Hoffmann, Schäfer, Koch, Bauer, Richter, Klein, Wolf, Schröder, Neumann,
Schwarz, Zimmermann, Braun, Krüger, Hofmann, Hartmann, Lange, Schmitt,
Werner, Schmitz, Krause, Meier, Lehmann, Schmid, Schulze, Maier, Köhler,
Herrmann, König, Walter, Mayer, Huber, Kaiser, Fuchs, Peters, Lang, Scholz,
Möller, Weiß, Jung, Hahn, Schubert, Vogel, Friedrich, Keller, Günther,
Frank, Berger, Winkler, Roth, Beck, Lorenz, Baumann, Franke, Albrecht,
Schuster, Simon, Ludwig, Böhm, Winter, Kraus, Schumacher, Krämer, Vogt,
Stein, Jäger, Otto, Sommer, Groß, Seidel, Heinrich, Brandt, Haas,
Schreiber, Graf, Schulte, Dietrich, Ziegler, Kuhn, Kühn, Pohl, Engel, Horn,
Busch, Bergmann, Voigt, Sauer, Arnold, Wolff, Pfeiffer,
Müller-Lüdenscheidt, Schulze-Delitzsch, Meyer-Landrut, von Weizsäcker,
von der Heide, zu Dohna, von Bülow, Oberhuber, Gruber, Pichler, Steiner,
Moser, Brunner, Hürlimann, Bachmann, Yılmaz, Kaya, Demir, Şahin, Çelik,
Öztürk, Kowalski, Nowak, Wiśniewski, Popescu, Ivanović, Petrović, Nguyen,
Tran, Hadžić, Özdemir, Aydın, Doğan, Kılıç, Lewandowski, Wójcik,
Zieliński, Fleischhauer, Oßwald, Rößler, Strauß, Nußbaum, Thießen,
Gößling, Bräuer, Dörfler, Lütke, Kötter, Feuerstein, Eichhorn, Rotermund,
Hinrichsen, Petersen, Jansen, Clausen, Brodersen, Wendt, Ebert, Haferkamp
""")

# French (FR, BE, CH), including North/West African French names
GIVEN["fr"] = {
    "f": L("""
Marie, Camille, Léa, Manon, Chloé, Inès, Jade, Louise, Emma, Sarah,
Juliette, Zoé, Lucie, Alice, Clara, Anaïs, Mathilde, Pauline, Margaux,
Élodie, Céline, Sandrine, Nathalie, Isabelle, Sylvie, Catherine, Françoise,
Monique, Martine, Christine, Brigitte, Véronique, Valérie, Sophie,
Aurélie, Émilie, Audrey, Caroline, Julie, Laetitia, Stéphanie, Virginie,
Delphine, Hélène, Agnès, Geneviève, Solène, Maëlle, Maëva, Océane, Noémie,
Clémence, Héloïse, Capucine, Margot, Apolline, Jeanne, Colette, Odile,
Thérèse, Bernadette, Ghislaine, Marie-Claire, Anne-Sophie, Marie-Hélène,
Marie-Christine, Yasmine, Fatoumata, Aminata, Leïla, Nadia, Samira,
Khadija, Awa, Mélanie, Gaëlle, Nolwenn, Enora, Cécile, Blandine, Maud,
Ophélie, Lætitia, Amandine
"""),
    "m": L("""
Jean, Pierre, Louis, Gabriel, Léo, Raphaël, Arthur, Lucas, Hugo, Jules,
Adam, Nathan, Théo, Paul, Tom, Maxime, Antoine, Alexandre, Nicolas, Julien,
Thomas, Guillaume, Mathieu, Sébastien, Olivier, Philippe, Christophe,
Laurent, Stéphane, Frédéric, François, Michel, Alain, Bernard, Jacques,
Gérard, Patrick, Thierry, Didier, Éric, Benoît, Jérôme, Cédric, Yannick,
Loïc, Gaël, Ronan, Erwan, Mathis, Clément, Baptiste, Quentin, Romain,
Florian, Damien, Jean-Pierre, Jean-Luc, Jean-Marc, Jean-Baptiste,
Pierre-Yves, Jean-François, Hervé, Régis, Gilles, Yves, Rémi, Aurélien,
Matthieu, Grégoire, Timothée, Côme, Mamadou, Moussa, Karim, Mehdi, Youssef,
Rachid, Sofiane, Amine, Ibrahima, Thibault, Xavier, Anthony, Kévin
"""),
}
FAMILY["fr"] = L("""
Martin, Bernard, Thomas, Petit, Robert, Richard, Durand, Dubois, Moreau,
Laurent, Simon, Michel, Lefèvre, Leroy, Roux, David, Bertrand, Morel,
Fournier, Girard, Bonnet, Dupont, Lambert, Fontaine, Rousseau, Vincent,
Muller, Lefebvre, Faure, André, Mercier, Blanc, Guérin, Boyer, Garnier,
Chevalier, François, Legrand, Gauthier, Garcia, Perrin, Robin, Clément,
Morin, Nicolas, Henry, Roussel, Mathieu, Gautier, Masson, Marchand, Duval,
Denis, Dumont, Lemaire, Noël, Meyer, Dufour, Meunier, Brun, Blanchard,
Giraud, Joly, Rivière, Lucas, Brunet, Gaillard, Barbier, Arnaud, Gérard,
Roche, Renard, Schmitt, Roy, Leroux, Colin, Vidal, Caron, Picard, Roger,
Fabre, Aubert, Lemoine, Renaud, Dumas, Lacroix, Bourgeois, Benoît, Rey,
Leclerc, Payet, Rolland, Leclercq, Lecomte, Dupuy, Guillot, Hubert, Berger,
Carpentier, Dupuis, Moulin, Deschamps, Huet, Vasseur, Boucher, Fleury,
Royer, Klein, Jacquet, Paris, Poirier, Marty, Aubry, Guyot, Carré,
Renault, Charpentier, Ménard, Maillard, Baron, Bertin, Bailly, Le Gall,
Le Goff, Le Roux, Le Bihan, Le Guen, Kerbrat, de La Fontaine, de Villiers,
Dubois-Martin, Saint-Martin, Diallo, Traoré, Benali, Haddad, Mansouri,
Nguyen, Ben Ahmed, N'Diaye, Ouédraogo, Da Silva, Carrère, Béranger,
Ferrand, Delacroix, Desjardins, Lévêque, Château, Beaumont, Vasseur-Lemaire
""")

# Spanish (ES and some Latin American)
GIVEN["es"] = {
    "f": L("""
María, Carmen, Ana, Isabel, Laura, Lucía, Marta, Elena, Cristina, Paula,
Sara, Raquel, Pilar, Rosa, Teresa, Beatriz, Nuria, Silvia, Patricia, Rocío,
Montserrat, Mercedes, Dolores, Concepción, Inmaculada, Begoña, Ainhoa,
Itziar, Maite, Nerea, Leire, Irene, Alba, Andrea, Claudia, Natalia, Julia,
Noelia, Sonia, Verónica, Yolanda, Lorena, Miriam, Eva, Esther, Alicia,
Inés, Blanca, Carlota, Jimena, Daniela, Valeria, Martina, Sofía, Lola,
Mónica, Susana, Gemma, Montse, Núria, Mireia, Aina, Neus, Xiana, Uxía,
Iria, Guadalupe, Macarena, Consuelo, Encarnación, Remedios, María José,
María Ángeles, Ana Belén, Mari Carmen, Milagros, Rosario, Amparo, Ximena,
Camila, Fernanda, Valentina, Ángela
"""),
    "m": L("""
José, Antonio, Manuel, Francisco, Juan, David, Javier, Daniel, Carlos,
Jesús, Alejandro, Miguel, Rafael, Pedro, Pablo, Ángel, Sergio, Fernando,
Jorge, Luis, Alberto, Álvaro, Adrián, Diego, Raúl, Iván, Rubén, Enrique,
Óscar, Ramón, Andrés, Vicente, Joaquín, Santiago, Víctor, Eduardo,
Roberto, Jaime, Ignacio, Gonzalo, Mario, Marcos, Hugo, Martín, Lucas,
Mateo, Leo, Nicolás, Íñigo, Iker, Unai, Aitor, Gorka, Xabier, Jon, Jordi,
Pau, Xavier, Oriol, Marc, Sergi, Borja, Guillermo, Emilio, Julián, Tomás,
Agustín, Rodrigo, Salvador, Gregorio, Lorenzo, Esteban, Félix, Alfonso,
José Luis, José Manuel, Juan Carlos, Francisco Javier, Juan Antonio,
Héctor, Benjamín
"""),
}
FAMILY["es"] = L("""
García, Rodríguez, González, Fernández, López, Martínez, Sánchez, Pérez,
Gómez, Martín, Jiménez, Ruiz, Hernández, Díaz, Moreno, Muñoz, Álvarez,
Romero, Alonso, Gutiérrez, Navarro, Torres, Domínguez, Vázquez, Ramos,
Gil, Ramírez, Serrano, Blanco, Molina, Morales, Suárez, Ortega, Delgado,
Castro, Ortiz, Rubio, Marín, Sanz, Núñez, Iglesias, Medina, Garrido,
Cortés, Castillo, Santos, Lozano, Guerrero, Cano, Prieto, Méndez, Cruz,
Calvo, Gallego, Vidal, León, Márquez, Herrera, Peña, Flores, Cabrera,
Campos, Vega, Fuentes, Carrasco, Diez, Caballero, Reyes, Nieto, Aguilar,
Pascual, Santana, Herrero, Lorenzo, Montero, Hidalgo, Giménez, Ibáñez,
Ferrer, Durán, Santiago, Benítez, Mora, Vicente, Vargas, Arias, Carmona,
Crespo, Román, Pastor, Soto, Sáez, Velasco, Moya, Soler, Parra, Esteban,
Bravo, Gallardo, Rojas, Pardo, Merino, Franco, Espinosa, Izquierdo, Lara,
Rivas, Silva, Rivera, Casado, Arroyo, Redondo, Camacho, Rey, Vera, Otero,
Luque, Galán, Montes, Ríos, Sierra, Segura, Carrillo, Soriano, Mendoza,
Echeverría, Goikoetxea, Etxeberria, Aguirre, Urrutia, Zubizarreta, Puig,
Vilanova, Casals, Pujol, Castells, Rovira, Figueroa, Quintana, Bustos,
Ocaña, Villalobos, Peñalver, Muñiz, de la Fuente, del Río, de la Torre,
de los Santos, Sáenz de Santamaría, Pérez de Guzmán, Martínez de Irujo,
Popescu, El Amrani, Benali, Chen, Ionescu, Castaño, Mañas, Búa, Freire
""")

# Italian
GIVEN["it"] = {
    "f": L("""
Giulia, Francesca, Chiara, Sara, Martina, Valentina, Alessia, Federica,
Elisa, Silvia, Giorgia, Elena, Laura, Paola, Roberta, Anna, Maria, Rosa,
Angela, Giuseppina, Lucia, Teresa, Carmela, Antonella, Patrizia, Daniela,
Cristina, Simona, Monica, Barbara, Manuela, Raffaella, Stefania, Cinzia,
Loredana, Tiziana, Gabriella, Rita, Serena, Ilaria, Beatrice, Aurora,
Ginevra, Alice, Sofia, Greta, Camilla, Matilde, Noemi, Vittoria, Benedetta,
Caterina, Arianna, Ludovica, Asia, Gaia, Rebecca, Nicoletta, Ornella,
Marisa, Graziella, Concetta, Assunta, Immacolata, Carla, Marta, Irene,
Eleonora, Veronica, Lorenza, Margherita, Annalisa, Mariangela, Anna Maria,
Maria Grazia, Pia, Luisa, Letizia, Agnese, Rossella, Fiorella
"""),
    "m": L("""
Giuseppe, Giovanni, Antonio, Mario, Luigi, Francesco, Angelo, Vincenzo,
Pietro, Salvatore, Carlo, Franco, Domenico, Bruno, Paolo, Michele, Giorgio,
Aldo, Sergio, Luciano, Marco, Alessandro, Andrea, Matteo, Lorenzo,
Leonardo, Gabriele, Riccardo, Tommaso, Edoardo, Federico, Davide, Stefano,
Simone, Luca, Fabio, Roberto, Massimo, Maurizio, Claudio, Daniele,
Emanuele, Alberto, Enrico, Filippo, Nicola, Gianluca, Gianluigi,
Pierluigi, Giancarlo, Gianni, Nicolò, Niccolò, Jacopo, Cristian, Mattia,
Diego, Raffaele, Gennaro, Ciro, Carmine, Rocco, Sebastiano, Ettore, Ugo,
Renato, Piero, Dario, Fabrizio, Alessio, Valerio, Tiziano, Ottavio, Arturo,
Cosimo, Damiano, Corrado, Gian Marco, Pasquale, Gaetano, Calogero, Achille,
Silvio, Elia
"""),
}
FAMILY["it"] = L("""
Rossi, Russo, Ferrari, Esposito, Bianchi, Romano, Colombo, Ricci, Marino,
Greco, Bruno, Gallo, Conti, De Luca, Mancini, Costa, Giordano, Rizzo,
Lombardi, Moretti, Barbieri, Fontana, Santoro, Mariani, Rinaldi, Caruso,
Ferrara, Galli, Martini, Leone, Longo, Gentile, Martinelli, Vitale,
Lombardo, Serra, Coppola, De Santis, D'Angelo, Marchetti, Parisi, Villa,
Conte, Ferraro, Ferri, Fabbri, Bianco, Marini, Grasso, Valentini, Messina,
Sala, De Angelis, Gatti, Pellegrini, Palumbo, Sanna, Farina, Rizzi, Monti,
Cattaneo, Morelli, Amato, Silvestri, Mazza, Testa, Grassi, Pellegrino,
Carbone, Giuliani, Benedetti, Barone, Rossetti, Caputo, Montanari, Guerra,
Palmieri, Bernardi, Martino, Fiore, De Rosa, Ferretti, Bellini, Basile,
Riva, Donati, Piras, Vitali, Battaglia, Sartori, Neri, Costantini, Milani,
Pagano, Ruggiero, Sorrentino, D'Amico, Orlando, Negri, Dell'Acqua,
Dell'Orto, Dall'Ara, Della Valle, Dalla Costa, Di Stefano, Di Matteo,
Lo Presti, Lo Russo, La Rosa, Li Causi, Del Piero, De Filippis,
Degli Esposti, Mastroianni, Quattrocchi, Cavalcanti, Zanetti, Zanella,
Bortolotti, Brambilla, Colombini, Fumagalli, Tognazzi, Pozzi, Cocco, Mura,
Melis, Deiana, Schiavone, Scognamiglio, Pappalardo, Cannavacciuolo,
Ferrante, Nardi, Tedesco, Perrone, Marras, Hoxha, Singh, Chen, Popescu,
Dalla Chiesa, Sant'Ambrogio, Santangelo, Dell'Olio, Vitiello, Ruggeri,
Bellucci, Fiorentino, Cirillo, Guidi, Lanza, Marchi, Tosi, Gualtieri,
Bonomi, Cozzolino, Iannone, Ventura
""")

# Dutch (NL and Flanders), including Surinamese/Moroccan/Turkish Dutch names
GIVEN["nl"] = {
    "f": L("""
Emma, Julia, Sophie, Tess, Zoë, Sara, Anna, Fenna, Evi, Lotte, Saar, Noor,
Lisa, Eva, Fleur, Sanne, Femke, Anouk, Iris, Lieke, Marloes, Marieke,
Ingrid, Annemarie, Anneke, Wilma, Gerda, Henny, Tineke, Joke, Ria, Mieke,
Els, Ank, Truus, Corrie, Willemijn, Jantine, Hanneke, Marjolein, Esther,
Ellen, Linda, Petra, Monique, Sandra, Mirjam, Ilse, Karin, Nicole, Yvonne,
Sabine, Judith, Renske, Roos, Nienke, Maartje, Floor, Merel, Janneke,
Mila, Yara, Lynn, Isa, Demi, Lieve, Jet, Marit, Famke, Sietske, Baukje,
Griet, Hilde, Katrien, Liesbeth, Veerle, Ans, Fatima, Naima, Samira, Dewi,
Annelies, Gonnie, Jolanda, Ineke
"""),
    "m": L("""
Daan, Sem, Lucas, Levi, Finn, Milan, Jesse, Bram, Luuk, Thijs, Lars,
Ruben, Sven, Tim, Thomas, Jeroen, Jan, Pieter, Willem, Hendrik, Henk,
Gerrit, Kees, Cornelis, Johannes, Joost, Maarten, Martijn, Bas, Wouter,
Rob, Koen, Stijn, Niels, Sander, Erik, Arjen, Bart, Dirk, Frank, Hans,
Harm, Jaap, Klaas, Piet, Sjoerd, Wim, Teun, Gijs, Floris, Hidde, Jelle,
Jurre, Siem, Mees, Ties, Guus, Jens, Rutger, Olivier, Tijmen, Douwe,
Sietse, Rik, Ruud, Ad, Toon, Geert, Joris, Wout, Pieter-Jan, Jan-Willem,
Mohamed, Youssef, Mehmet, Hakan, Rachid, Ahmet, Marc, Arnoud, Dries,
Jef, Kobe, Brecht, Lowie
"""),
}
FAMILY["nl"] = L("""
de Jong, Jansen, de Vries, van den Berg, van Dijk, Bakker, Janssen,
Visser, Smit, Meijer, de Boer, Mulder, de Groot, Bos, Vos, Peters,
Hendriks, van Leeuwen, Dekker, Brouwer, de Wit, Dijkstra, Smits, de Graaf,
van der Meer, van der Linden, Kok, Jacobs, de Haan, Vermeulen,
van den Heuvel, van der Veen, van den Broek, de Bruijn, de Bruin,
van der Heijden, Schouten, van Beek, Willems, van Vliet, van de Ven,
Hoekstra, Maas, Verhoeven, Koster, van Dam, van der Wal, Prins, Blom,
Huisman, Peeters, de Koning, van Wijk, Kuipers, Veenstra, Postma, Kramer,
van Rijn, van der Berg, van 't Hof, van 't Veer, 't Hart, ter Horst,
ten Brink, op den Kamp, in 't Veld, Timmermans, Groen, Gerritsen, Bosman,
Wouters, Claes, Maes, Goossens, Wuyts, Vandenbroucke, Vanderhaegen,
De Smet, Lemmens, Van Damme, Verstappen, Sneijder, Zwart, Roos, Sterk,
Pronk, Zijlstra, Yılmaz, El Idrissi, Bouzid, Öztürk, Kaya, Tahiri, Nguyen,
Pinas, Tjon A Fong, Ramdin, Kartosen, Sewnarain, van der Berg-de Vries,
Hoogendoorn, Boomsma, Wijnands, Verbeek, Hermans, Jonker, van Houten,
Kooistra, Stoffels, Terpstra, Bijl, Heijnen, Langeveld, Vink, Sluiter,
Hazelhoff, Rietveld, Stam, Oosterhuis, Brinkman, Wolters, Evers, Lammers,
Beekman, van Zanten, Schipper, Koopman, Dijkman, van Oort, Huijbregts,
van Gogh, Snijders, Kroon, de Lange, Hoekman, van Loon, Verhagen,
Bastiaans, van Buuren, Tromp, Mertens, Segers, Claessens, Aerts, Schaap,
Bouwman, Veldhuis, Meulenbelt, de Ridder, van Dongen, Hofstede, Fransen,
Rutten, Dekkers, Wijnberg
""")

# Portuguese (PT and BR)
GIVEN["pt"] = {
    "f": L("""
Maria, Ana, Beatriz, Mariana, Inês, Leonor, Matilde, Carolina, Sofia,
Francisca, Margarida, Joana, Catarina, Rita, Sara, Marta, Teresa, Isabel,
Helena, Cláudia, Patrícia, Sónia, Susana, Sandra, Fernanda, Luísa, Filipa,
Raquel, Adriana, Vera, Graça, Conceição, Fátima, Rosário, Lurdes, Manuela,
Alice, Constança, Madalena, Benedita, Ana Clara, Júlia, Larissa, Letícia,
Gabriela, Camila, Amanda, Bruna, Juliana, Aline, Vanessa, Luana, Thaís,
Débora, Priscila, Tatiana, Renata, Jéssica, Yasmin, Heloísa, Lívia,
Isadora, Valentina, Alícia, Giovanna, Lorena, Luciana, Simone, Rosângela,
Raimunda, Antônia, Maria Eduarda, Maria Clara, Ana Luíza, Natália, Sílvia,
Rosa, Glória, Irene, Elisa, Clarice
"""),
    "m": L("""
João, José, António, Francisco, Manuel, Pedro, Tiago, Rui, Nuno, Miguel,
Ricardo, Paulo, Luís, Carlos, Jorge, Fernando, Hugo, Bruno, André, Diogo,
Gonçalo, Duarte, Tomás, Rodrigo, Martim, Afonso, Santiago, Vasco, Simão,
Guilherme, Henrique, Filipe, Sérgio, Vítor, Joaquim, Armando, Álvaro,
Fábio, Marco, Rafael, Lucas, Gabriel, Matheus, Enzo, Arthur, Heitor, Davi,
Bernardo, Lorenzo, Théo, Pietro, Caio, Thiago, Felipe, Leonardo, Gustavo,
Vinícius, Leandro, Marcelo, Rogério, Márcio, Anderson, Wellington, Cleber,
Edson, Reinaldo, Antônio, Raimundo, Sebastião, João Pedro, João Vitor,
Luiz, Otávio, Murilo, Júlio, Emanuel, Cauã, Renato, Hélio, Mauro, Igor
"""),
}
FAMILY["pt"] = L("""
Silva, Santos, Ferreira, Pereira, Oliveira, Costa, Rodrigues, Martins,
Jesus, Sousa, Fernandes, Gonçalves, Gomes, Lopes, Marques, Alves, Almeida,
Ribeiro, Pinto, Carvalho, Teixeira, Moreira, Correia, Mendes, Nunes,
Soares, Vieira, Monteiro, Cardoso, Rocha, Raposo, Neves, Coelho, Cruz,
Cunha, Pires, Ramos, Reis, Simões, Antunes, Matos, Fonseca, Machado,
Araújo, Barbosa, Tavares, Lourenço, Castro, Figueiredo, Azevedo, Freitas,
Henriques, Magalhães, Brito, Campos, Batista, Dias, Nascimento, Lima,
Moura, Cavalcanti, Barros, Melo, Rezende, Andrade, Borges, Miranda,
Nogueira, Queiroz, Siqueira, Vasconcelos, Prado, Guimarães, Bezerra,
Cabral, Farias, Macedo, Medeiros, Sampaio, Valente, Quaresma, Baptista,
Brandão, Loureiro, Leite, Sá, Abreu, Amaral, Aguiar, Bastos, Caldeira,
Carneiro, Esteves, Faria, Garcia, Godinho, Jardim, Leal, Paiva, Pacheco,
Peixoto, Rebelo, Seabra, Serrano, Toledo, Viana, Xavier, de Oliveira,
da Silva, dos Santos, das Neves, da Costa, do Nascimento, de Souza,
de Sousa, d'Almeida, da Cunha, dos Reis, de Carvalho, da Conceição,
de Albuquerque, de Mello Franco, Yamamoto, Nakamura, Schneider, Bianchi,
Semedo, Kovalenko, Shevchenko, Gusmão, Falcão, Espírito Santo, Brás,
Calado, Mourão, Sarmento, Lacerda, Pimentel, Rangel, Assunção, Cordeiro,
Domingues, Fontes, Frade, Gaspar, Louro, Madeira, Morais, Pinheiro,
Quintas, Ventura, Barreto, Couto, Lobo
""")

LANGS = ["en", "de", "fr", "es", "it", "nl", "pt"]

# Dutch/Flemish particles that are capitalized when the surname is used
# without a given name or initial ("Dhr. Van der Berg").
NL_PARTICLES = ("van ", "de ", "den ", "der ", "ter ", "ten ", "op ", "in ", "'t ")

HONORIFICS = {
    "en": {"m": ["Mr", "Mr.", "Dr", "Dr.", "Prof."], "f": ["Ms", "Ms.", "Mrs", "Mrs.", "Dr", "Dr.", "Miss"]},
    "de": {"m": ["Herr", "Herr", "Herr Dr.", "Herr Prof."], "f": ["Frau", "Frau", "Frau Dr.", "Frau Prof."]},
    "fr": {"m": ["M.", "Monsieur", "M.", "Dr"], "f": ["Mme", "Madame", "Mme", "Dr"]},
    "es": {"m": ["Sr.", "Sr.", "D.", "Dr."], "f": ["Sra.", "Sra.", "Dña.", "Dra."]},
    "it": {"m": ["Sig.", "Sig.", "Dott.", "Ing.", "Avv."], "f": ["Sig.ra", "Sig.ra", "Dott.ssa", "Sig.a"]},
    "nl": {"m": ["Dhr.", "dhr.", "meneer", "Dhr."], "f": ["Mevr.", "mevr.", "mevrouw", "Mw."]},
    "pt": {"m": ["Sr.", "Sr.", "Dr."], "f": ["Sra.", "Sr.ª", "Dra.", "D."]},
}

EMAIL_DOMAINS = {
    "en": L("gmail.com, outlook.com, yahoo.com, hotmail.co.uk, btinternet.com, icloud.com, protonmail.com, eircom.net, bigpond.com, rediffmail.com, yahoo.co.in, comcast.net, aol.com"),
    "de": L("gmx.de, web.de, t-online.de, posteo.de, gmx.at, bluewin.ch, gmail.com, outlook.de, freenet.de, mailbox.org, aon.at"),
    "fr": L("orange.fr, free.fr, laposte.net, wanadoo.fr, sfr.fr, gmail.com, hotmail.fr, yahoo.fr, skynet.be, bluewin.ch"),
    "es": L("gmail.com, hotmail.es, yahoo.es, telefonica.net, outlook.es, movistar.es, ono.com"),
    "it": L("libero.it, alice.it, virgilio.it, tiscali.it, gmail.com, hotmail.it, yahoo.it, fastwebnet.it, pec.it"),
    "nl": L("ziggo.nl, kpnmail.nl, xs4all.nl, hetnet.nl, gmail.com, outlook.com, planet.nl, telenet.be, home.nl"),
    "pt": L("sapo.pt, gmail.com, hotmail.com, uol.com.br, bol.com.br, terra.com.br, outlook.pt, yahoo.com.br, netcabo.pt"),
}
COMPANY_DOMAINS = {
    "en": L("brightwave.io, northfield-logistics.com, harbourview.co.uk, kestrel-analytics.com, tidewater.ie, bluegum.com.au, sahyadri-tech.in, cobaltpay.com"),
    "de": L("mueller-logistik.de, stadtwerke-beispiel.de, kanzlei-hoffmann.de, alpenblick-software.at, zuerichsee-treuhand.ch, nordlicht-it.de"),
    "fr": L("cabinet-moreau.fr, atelier-lumiere.fr, transports-girard.fr, mutuelle-horizon.fr, agence-bellevue.be"),
    "es": L("gestoria-ruiz.es, talleres-iberia.es, clinica-delmar.es, inmobiliaria-sol.es, mudanzas-norte.es"),
    "it": L("studiorossi.it, ferramenta-bianchi.it, agenzia-sole.it, cooperativa-aurora.it, trasporti-greco.it"),
    "nl": L("bakker-installatie.nl, tulp-advies.nl, kantoorpunt.nl, zeeuwse-logistiek.nl, fietsplan.be"),
    "pt": L("contabilidade-silva.pt, construtora-horizonte.com.br, clinica-atlantico.pt, imobiliaria-sol.com.br, transportes-douro.pt"),
}

JOB_TITLES = {
    "en": L("Senior Data Engineer, Office Manager, Head of Procurement, Account Executive, HR Business Partner, Product Owner, Customer Success Lead, Finance Controller, Site Reliability Engineer, Practice Manager"),
    "de": L("Sachbearbeiterin Buchhaltung, Teamleiter Vertrieb, Projektleiterin, Leiter Einkauf, Personalreferentin, Geschäftsführer, Systemadministrator, Kundenberaterin, Bereichsleiter IT, Assistentin der Geschäftsführung"),
    "fr": L("Responsable des achats, Chargée de clientèle, Directeur commercial, Assistante de direction, Chef de projet, Comptable, Responsable RH, Ingénieur support, Gestionnaire de paie, Directrice financière"),
    "es": L("Responsable de compras, Jefe de proyecto, Técnica de RR. HH., Director comercial, Administrativa, Gestor de cuentas, Responsable de logística, Ingeniera de soporte, Directora financiera, Auxiliar administrativo"),
    "it": L("Responsabile acquisti, Project manager, Impiegata amministrativa, Direttore commerciale, Responsabile HR, Tecnico di supporto, Consulente fiscale, Segretaria di direzione, Responsabile logistica, Amministratore delegato"),
    "nl": L("Teamleider klantenservice, Projectmanager, Office manager, Inkoper, HR-adviseur, Financieel controller, Accountmanager, Applicatiebeheerder, Directeur, Medewerker administratie"),
    "pt": L("Gestora de projetos, Diretor comercial, Técnica de recursos humanos, Responsável de compras, Assistente administrativa, Analista de sistemas, Gerente de contas, Contabilista, Coordenadora de logística, Diretor financeiro"),
}


# job titles by gender (used with ⟦pN.job⟧, never labelled)
JOB_TITLES_G = {
    "en": {"m": JOB_TITLES["en"], "f": JOB_TITLES["en"]},
    "de": {"m": L("Sachbearbeiter Buchhaltung, Teamleiter Vertrieb, Projektleiter, Leiter Einkauf, Personalreferent, Geschäftsführer, Systemadministrator, Kundenberater, Bereichsleiter IT, Key Account Manager"),
           "f": L("Sachbearbeiterin Buchhaltung, Teamleiterin Vertrieb, Projektleiterin, Leiterin Einkauf, Personalreferentin, Geschäftsführerin, Systemadministratorin, Kundenberaterin, Bereichsleiterin IT, Assistentin der Geschäftsführung")},
    "fr": {"m": L("Responsable des achats, Chargé de clientèle, Directeur commercial, Assistant de direction, Chef de projet, Comptable, Responsable RH, Ingénieur support, Gestionnaire de paie, Directeur financier"),
           "f": L("Responsable des achats, Chargée de clientèle, Directrice commerciale, Assistante de direction, Cheffe de projet, Comptable, Responsable RH, Ingénieure support, Gestionnaire de paie, Directrice financière")},
    "es": {"m": L("Responsable de compras, Jefe de proyecto, Técnico de RR. HH., Director comercial, Administrativo, Gestor de cuentas, Responsable de logística, Ingeniero de soporte, Director financiero, Auxiliar administrativo"),
           "f": L("Responsable de compras, Jefa de proyecto, Técnica de RR. HH., Directora comercial, Administrativa, Gestora de cuentas, Responsable de logística, Ingeniera de soporte, Directora financiera, Auxiliar administrativa")},
    "it": {"m": L("Responsabile acquisti, Project manager, Impiegato amministrativo, Direttore commerciale, Responsabile HR, Tecnico di supporto, Consulente fiscale, Responsabile logistica, Amministratore delegato"),
           "f": L("Responsabile acquisti, Project manager, Impiegata amministrativa, Direttrice commerciale, Responsabile HR, Tecnica di supporto, Consulente fiscale, Segretaria di direzione, Responsabile logistica, Amministratrice delegata")},
    "nl": {"m": JOB_TITLES["nl"], "f": JOB_TITLES["nl"]},
    "pt": {"m": L("Gestor de projetos, Diretor comercial, Técnico de recursos humanos, Responsável de compras, Assistente administrativo, Analista de sistemas, Gerente de contas, Contabilista, Coordenador de logística, Diretor financeiro"),
           "f": L("Gestora de projetos, Diretora comercial, Técnica de recursos humanos, Responsável de compras, Assistente administrativa, Analista de sistemas, Gerente de contas, Contabilista, Coordenadora de logística, Diretora financeira")},
}


# ---------------------------------------------------------------------------
# PLACES
# ---------------------------------------------------------------------------
# Address tables per country: (city, postcode data, extra). Postcodes are
# plausible for the city but the street/number combinations are invented.

US_CITIES = [
    ("New York", "NY", "100"), ("Brooklyn", "NY", "112"), ("Buffalo", "NY", "142"),
    ("Poughkeepsie", "NY", "126"), ("Springfield", "IL", "627"), ("Chicago", "IL", "606"),
    ("Naperville", "IL", "605"), ("Austin", "TX", "787"), ("Houston", "TX", "770"),
    ("El Paso", "TX", "799"), ("Denver", "CO", "802"), ("Boulder", "CO", "803"),
    ("Seattle", "WA", "981"), ("Spokane", "WA", "992"), ("Walla Walla", "WA", "993"),
    ("Portland", "OR", "972"), ("Eugene", "OR", "974"), ("San Francisco", "CA", "941"),
    ("Oakland", "CA", "946"), ("Fresno", "CA", "937"), ("San Diego", "CA", "921"),
    ("Los Angeles", "CA", "900"), ("Phoenix", "AZ", "850"), ("Tucson", "AZ", "857"),
    ("Boston", "MA", "021"), ("Worcester", "MA", "016"), ("Burlington", "VT", "054"),
    ("Bangor", "ME", "044"), ("Atlanta", "GA", "303"), ("Savannah", "GA", "314"),
    ("Miami", "FL", "331"), ("Tampa", "FL", "336"), ("Gainesville", "FL", "326"),
    ("Nashville", "TN", "372"), ("Knoxville", "TN", "379"), ("Columbus", "OH", "432"),
    ("Dayton", "OH", "454"), ("Ann Arbor", "MI", "481"), ("Kalamazoo", "MI", "490"),
    ("Madison", "WI", "537"), ("Duluth", "MN", "558"), ("Minneapolis", "MN", "554"),
    ("Omaha", "NE", "681"), ("Boise", "ID", "837"), ("Missoula", "MT", "598"),
    ("Bozeman", "MT", "597"), ("Santa Fe", "NM", "875"), ("Albuquerque", "NM", "871"),
    ("Asheville", "NC", "288"), ("Raleigh", "NC", "276"), ("Charleston", "SC", "294"),
    ("Richmond", "VA", "232"), ("Baltimore", "MD", "212"), ("Pittsburgh", "PA", "152"),
    ("Philadelphia", "PA", "191"), ("Scranton", "PA", "185"), ("Louisville", "KY", "402"),
    ("Des Moines", "IA", "503"), ("Fargo", "ND", "581"), ("Anchorage", "AK", "995"),
    ("Honolulu", "HI", "968"), ("Salt Lake City", "UT", "841"), ("Provo", "UT", "846"),
    ("Reno", "NV", "895"),
]
US_STREETS = L("""Main, Oak, Maple, Cedar, Elm, Pine, Washington, Lake, Hill, Park, Sunset,
Highland, Jefferson, Lincoln, Madison, Franklin, Church, Mill, Spring, Ridge, River,
Chestnut, Walnut, Willow, Hickory, Magnolia, Evergreen, Meadow, Prospect, Union, Market,
Broad, Center, Locust, Sycamore, Dogwood, Lakeview, Cherry, Forest, Bayview, Glenwood,
Orchard, Fairview, Grant, Jackson, Monroe, Quincy, Harrison, Birch, Aspen""")
US_SUFFIX = L("St, Street, Ave, Avenue, Blvd, Rd, Road, Dr, Drive, Ln, Lane, Ct, Way, Pl, Terrace, Pkwy, Circle")

UK_PLACES = [
    ("London", ["SW1A", "E8", "N1", "SE15", "NW3", "W11", "EC1V", "SW9", "E14", "N16", "SE22", "W4"],
     ["Hackney", "Islington", "Peckham", "Hampstead", "Notting Hill", "Brixton", "Chiswick", "Stoke Newington"]),
    ("Manchester", ["M1", "M4", "M14", "M20", "M21", "M16"], ["Didsbury", "Chorlton", "Ancoats", "Fallowfield"]),
    ("Leeds", ["LS1", "LS6", "LS7", "LS8", "LS11"], ["Headingley", "Chapel Allerton", "Roundhay"]),
    ("Bristol", ["BS1", "BS3", "BS6", "BS7", "BS8"], ["Clifton", "Bedminster", "Redland", "Bishopston"]),
    ("Birmingham", ["B1", "B13", "B15", "B29", "B30"], ["Moseley", "Edgbaston", "Selly Oak", "Bournville"]),
    ("Edinburgh", ["EH1", "EH3", "EH6", "EH9", "EH10"], ["Leith", "Marchmont", "Morningside", "Stockbridge"]),
    ("Glasgow", ["G1", "G3", "G11", "G12", "G41"], ["Partick", "Hillhead", "Shawlands", "Finnieston"]),
    ("Cardiff", ["CF10", "CF11", "CF14", "CF24"], ["Roath", "Canton", "Llandaff", "Cathays"]),
    ("Belfast", ["BT1", "BT7", "BT9", "BT15"], ["Malone", "Ormeau", "Stranmillis"]),
    ("York", ["YO1", "YO10", "YO24", "YO31"], ["Fulford", "Acomb", "Heworth"]),
    ("Bath", ["BA1", "BA2"], ["Widcombe", "Larkhall", "Weston"]),
    ("Oxford", ["OX1", "OX2", "OX3", "OX4"], ["Jericho", "Headington", "Summertown", "Cowley"]),
    ("Cambridge", ["CB1", "CB2", "CB4", "CB5"], ["Chesterton", "Romsey", "Newnham"]),
    ("Norwich", ["NR1", "NR2", "NR3", "NR4"], ["Eaton", "Thorpe Hamlet"]),
    ("Brighton", ["BN1", "BN2", "BN3"], ["Kemptown", "Hove", "Hanover"]),
    ("Sheffield", ["S1", "S7", "S10", "S11"], ["Nether Edge", "Crookes", "Ecclesall"]),
    ("Liverpool", ["L1", "L8", "L15", "L17", "L18"], ["Toxteth", "Wavertree", "Aigburth", "Allerton"]),
    ("Newcastle upon Tyne", ["NE1", "NE2", "NE4", "NE6"], ["Jesmond", "Heaton", "Fenham"]),
    ("Exeter", ["EX1", "EX2", "EX4"], ["Heavitree", "St Thomas", "Pennsylvania"]),
    ("Truro", ["TR1"], []), ("Inverness", ["IV2", "IV3"], []), ("Aberystwyth", ["SY23"], []),
    ("Whitby", ["YO21", "YO22"], []), ("Keswick", ["CA12"], []), ("Stroud", ["GL5"], []),
    ("Hebden Bridge", ["HX7"], []), ("Tunbridge Wells", ["TN1", "TN2", "TN4"], []),
    ("Fakenham", ["NR21"], []), ("Bury St Edmunds", ["IP32", "IP33"], []),
    ("Hay-on-Wye", ["HR3"], []), ("Ashby-de-la-Zouch", ["LE65"], []),
]
UK_STREETS = L("""High Street, Church Lane, Station Road, Victoria Road, Green Lane, Manor Road,
Park Avenue, Queen's Road, Kings Road, Mill Lane, The Crescent, Acacia Avenue, Hillside Road,
Albert Street, George Street, Windsor Close, Orchard Way, Chapel Street, St John's Road,
Meadow View, Beech Grove, Elm Terrace, Marlborough Road, Alexandra Road, Grange Road,
Cromwell Road, Richmond Terrace, Priory Lane, Wellington Street, Brunswick Square""")
UK_HOUSE_NAMES = L("Rose Cottage, The Old Rectory, Ivy House, Meadowside, Hillcrest, Orchard House, The Old Forge, Willow Barn")
UK_POST_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

IE_PLACES = [
    ("Dublin 2", None, "D02"), ("Dublin 6", None, "D06"), ("Dublin 8", None, "D08"),
    ("Rathmines, Dublin 6", None, "D06"), ("Cork", "Co. Cork", "T12"), ("Ballincollig", "Co. Cork", "P31"),
    ("Galway", "Co. Galway", "H91"), ("Limerick", "Co. Limerick", "V94"), ("Kilkenny", "Co. Kilkenny", "R95"),
    ("Sligo", "Co. Sligo", "F91"), ("Dingle", "Co. Kerry", "V92"), ("Westport", "Co. Mayo", "F28"),
    ("Athlone", "Co. Westmeath", "N37"), ("Skibbereen", "Co. Cork", "P81"), ("Ennis", "Co. Clare", "V95"),
    ("Letterkenny", "Co. Donegal", "F92"), ("Bray", "Co. Wicklow", "A98"),
]
IE_STREETS = L("""Main Street, Church Road, Strand Road, Patrick Street, O'Connell Street, Mill Road,
Castle Street, Bridge Street, Green Road, Pearse Street, Shop Street, Parnell Square,
Harbour View, Abbey Street, Seaview Terrace""")
EIRCODE_CHARS = "ACDEFHKNPRTVWXY0123456789"

AU_PLACES = [
    ("Fitzroy", "VIC", "3065"), ("Brunswick", "VIC", "3056"), ("Carlton", "VIC", "3053"),
    ("Surry Hills", "NSW", "2010"), ("Newtown", "NSW", "2042"), ("Bondi", "NSW", "2026"),
    ("Fremantle", "WA", "6160"), ("Subiaco", "WA", "6008"), ("Paddington", "QLD", "4064"),
    ("West End", "QLD", "4101"), ("Glenelg", "SA", "5045"), ("Norwood", "SA", "5067"),
    ("Hobart", "TAS", "7000"), ("Byron Bay", "NSW", "2481"), ("Ballarat", "VIC", "3350"),
    ("Toowoomba", "QLD", "4350"), ("Wagga Wagga", "NSW", "2650"), ("Kalgoorlie", "WA", "6430"),
    ("Braddon", "ACT", "2612"),
]
AU_STREETS = L("""Smith Street, Brunswick Street, Lygon Street, Crown Street, King Street, Oxford Street,
Campbell Parade, High Street, Hay Street, Boundary Street, Jetty Road, The Parade, Elizabeth Street,
Sturt Street, Ruthven Street, Baylis Street, Hannan Street, Lonsdale Street""")

IN_PLACES = [
    ("Bengaluru", "Karnataka", "560", ["Indiranagar", "Koramangala", "Jayanagar", "Whitefield", "HSR Layout", "Malleshwaram"]),
    ("Mumbai", "Maharashtra", "400", ["Andheri West", "Bandra East", "Powai", "Dadar", "Goregaon East", "Chembur"]),
    ("Pune", "Maharashtra", "411", ["Kothrud", "Baner", "Viman Nagar", "Aundh", "Hadapsar"]),
    ("Chennai", "Tamil Nadu", "600", ["T. Nagar", "Adyar", "Velachery", "Anna Nagar", "Mylapore"]),
    ("Coimbatore", "Tamil Nadu", "641", ["RS Puram", "Peelamedu", "Saibaba Colony"]),
    ("Hyderabad", "Telangana", "500", ["Banjara Hills", "Jubilee Hills", "Gachibowli", "Kondapur", "Madhapur"]),
    ("Kochi", "Kerala", "682", ["Kakkanad", "Edappally", "Fort Kochi", "Panampilly Nagar"]),
    ("Thiruvananthapuram", "Kerala", "695", ["Kowdiar", "Pattom", "Vazhuthacaud"]),
    ("New Delhi", "Delhi", "110", ["Lajpat Nagar", "Hauz Khas", "Karol Bagh", "Vasant Kunj", "Dwarka Sector 6"]),
    ("Gurugram", "Haryana", "122", ["DLF Phase 2", "Sector 56", "Sohna Road"]),
    ("Noida", "Uttar Pradesh", "201", ["Sector 15", "Sector 62", "Sector 137"]),
    ("Lucknow", "Uttar Pradesh", "226", ["Gomti Nagar", "Hazratganj", "Aliganj"]),
    ("Jaipur", "Rajasthan", "302", ["Malviya Nagar", "C-Scheme", "Vaishali Nagar"]),
    ("Ahmedabad", "Gujarat", "380", ["Navrangpura", "Satellite", "Bodakdev"]),
    ("Kolkata", "West Bengal", "700", ["Salt Lake Sector V", "Ballygunge", "New Town", "Behala"]),
    ("Mysuru", "Karnataka", "570", ["Jayalakshmipuram", "Kuvempunagar", "Vijayanagar"]),
    ("Chandigarh", "Chandigarh", "160", ["Sector 17", "Sector 35", "Sector 22"]),
    ("Indore", "Madhya Pradesh", "452", ["Vijay Nagar", "Palasia", "Rajendra Nagar"]),
    ("Bhubaneswar", "Odisha", "751", ["Saheed Nagar", "Patia", "Jaydev Vihar"]),
]
IN_BUILDINGS = L("Sai Residency, Sri Krishna Apartments, Sunshine Towers, Lakeview Enclave, Shanti Kunj, Ganga Heights, Prestige Park, Green Meadows, Royal Palms, Gokul Dham")
IN_ROADS = L("14th Cross, 5th Main Road, MG Road, Link Road, Road No. 3, 100 Feet Road, SV Road, 2nd Cross Street, Station Road, Ring Road, 80 Feet Road, 3rd Avenue")

JP_PLACES = [
    ("Shibuya-ku", "Tokyo", None, "150", ["Jingumae", "Shibuya", "Ebisu", "Uehara", "Sendagaya"]),
    ("Meguro-ku", "Tokyo", None, "153", ["Nakameguro", "Kamimeguro", "Meguro"]),
    ("Setagaya-ku", "Tokyo", None, "154", ["Sangenjaya", "Taishido", "Shimouma"]),
    ("Shinjuku-ku", "Tokyo", None, "160", ["Nishi-Shinjuku", "Kabukicho", "Yotsuya"]),
    ("Minato-ku", "Tokyo", None, "106", ["Roppongi", "Azabu-Juban", "Minami-Azabu"]),
    ("Taito-ku", "Tokyo", None, "111", ["Asakusa", "Kuramae", "Matsugaya"]),
    ("Kita-ku", "Osaka", None, "530", ["Umeda", "Tenjinbashi", "Nakazakinishi"]),
    ("Chuo-ku", "Osaka", None, "542", ["Shinsaibashisuji", "Nishishinsaibashi", "Higashishinsaibashi"]),
    ("Sakyo-ku", "Kyoto", None, "606", ["Shimogamo", "Tanaka", "Kitashirakawa"]),
    ("Chuo-ku", "Fukuoka", "Fukuoka", "810", ["Tenjin", "Daimyo", "Akasaka"]),
    ("Chuo-ku", "Sapporo", "Hokkaido", "060", ["Kita 1-jo Nishi", "Minami 3-jo Nishi"]),
    ("Naka-ku", "Yokohama", "Kanagawa", "231", ["Yamashitacho", "Motomachi", "Kannai"]),
    ("Naka-ku", "Nagoya", "Aichi", "460", ["Sakae", "Osu", "Marunouchi"]),
    ("Chuo-ku", "Kobe", "Hyogo", "650", ["Sannomiyacho", "Motomachi-dori", "Kitanagasa-dori"]),
    ("Aoba-ku", "Sendai", "Miyagi", "980", ["Ichibancho", "Kokubuncho", "Kimachi-dori"]),
]
JP_BUILDINGS = L("Maison Ebisu, Sunny Heights, Park Court, Lions Mansion, Grand Maison, Villa Sakura, Palais Royal, Crest Tower")

DE_CITIES = [
    ("Berlin", ["101", "104", "105", "106", "107", "108", "109", "120", "121", "122", "130", "133"]),
    ("Hamburg", ["200", "203", "205", "207", "220", "221", "227"]), ("München", ["803", "804", "806", "807", "809", "813", "816"]),
    ("Köln", ["506", "507", "508", "509", "510", "511"]), ("Frankfurt am Main", ["603", "604", "605", "606"]),
    ("Stuttgart", ["701", "703", "705"]), ("Düsseldorf", ["402", "404", "405", "406"]),
    ("Leipzig", ["041", "042", "043"]), ("Dresden", ["010", "011", "012"]), ("Nürnberg", ["904", "905"]),
    ("Bremen", ["281", "282", "283"]), ("Hannover", ["301", "304", "306"]), ("Essen", ["451", "452"]),
    ("Dortmund", ["441", "442"]), ("Bonn", ["531"]), ("Münster", ["481"]), ("Freiburg im Breisgau", ["791"]),
    ("Heidelberg", ["691"]), ("Regensburg", ["930", "934"]), ("Würzburg", ["970", "972"]), ("Augsburg", ["861"]),
    ("Göttingen", ["370"]), ("Kiel", ["241"]), ("Lübeck", ["235"]), ("Rostock", ["180", "181"]), ("Erfurt", ["990"]),
    ("Jena", ["077"]), ("Bad Tölz", ["83646"]), ("Garmisch-Partenkirchen", ["82467"]), ("Lüneburg", ["21335", "21337"]),
    ("Gütersloh", ["33330", "33332"]), ("Itzehoe", ["25524"]), ("Görlitz", ["02826", "02827"]),
    ("Rosenheim", ["83022", "83024", "83026"]), ("Bad Homburg vor der Höhe", ["61348", "61350"]),
    ("Neustadt an der Weinstraße", ["67433", "67434"]), ("Wolfenbüttel", ["38300", "38302"]),
    ("Hameln", ["31785", "31787"]), ("Quedlinburg", ["06484"]), ("Wernigerode", ["38855"]), ("Oberstdorf", ["87561"]),
    ("Wuppertal", ["421", "422"]), ("Bielefeld", ["336", "337"]), ("Oldenburg", ["261"]), ("Passau", ["94032", "94034", "94036"]),
]
DE_STREETS = L("""Hauptstraße, Bahnhofstraße, Schulstraße, Gartenstraße, Dorfstraße, Lindenstraße, Bergstraße,
Kirchstraße, Waldstraße, Ringstraße, Goethestraße, Schillerstraße, Friedrichstraße, Am Markt, Marktplatz,
Lessingstraße, Mozartstraße, Beethovenstraße, Rosenweg, Birkenweg, Am Anger, Uhlandstraße, Kastanienallee,
Schönhauser Allee, Karl-Marx-Straße, Sonnenstraße, Leopoldstraße, Königsallee, Venloer Straße, Aachener Straße,
Prinzregentenstraße, Theodor-Heuss-Ring, Konrad-Adenauer-Ufer, Im Wiesengrund, An der Alster, Hohenzollernring,
Mühlenweg, Fasanenweg, Eichendorffstraße, Am Sonnenhang, Zum Steinbruch, Alte Landstraße, Kurfürstendamm,
Weserstraße, Rheinallee, Pfarrgasse, Obere Schmiedgasse, Lange Reihe""")
AT_CITIES = [("Wien", ["1010", "1030", "1040", "1050", "1060", "1070", "1080", "1090", "1120", "1160", "1180"]),
             ("Graz", ["8010", "8020"]), ("Linz", ["4020"]), ("Salzburg", ["5020"]), ("Innsbruck", ["6020"]),
             ("Klagenfurt am Wörthersee", ["9020"]), ("Bregenz", ["6900"]), ("Hallstatt", ["4830"])]
AT_STREETS = L("Mariahilfer Straße, Herrengasse, Landstraßer Hauptstraße, Neubaugasse, Praterstraße, Getreidegasse, Maria-Theresien-Straße, Linzer Gasse, Annenstraße, Lerchenfelder Straße")
CH_CITIES = [("Zürich", ["8001", "8003", "8004", "8006", "8008", "8032", "8050"]), ("Bern", ["3011", "3012", "3013"]),
             ("Basel", ["4051", "4052", "4056"]), ("Luzern", ["6003", "6004"]), ("St. Gallen", ["9000", "9008"]),
             ("Winterthur", ["8400", "8404"]), ("Zug", ["6300"]), ("Chur", ["7000"])]
CH_STREETS = L("Bahnhofstrasse, Seestrasse, Dorfstrasse, Hauptstrasse, Kirchgasse, Marktgasse, Spitalgasse, Langstrasse, Weinbergstrasse, Rosenbergstrasse")
CHFR_CITIES = [("Genève", ["1201", "1202", "1204", "1205", "1207"]), ("Lausanne", ["1003", "1004", "1005", "1006"]),
               ("Neuchâtel", ["2000"]), ("Fribourg", ["1700"]), ("Sion", ["1950"])]
CHFR_STREETS = L("Rue du Rhône, Rue de Lausanne, Avenue de la Gare, Rue du Marché, Chemin des Vignes, Boulevard Carl-Vogt, Rue de Bourg, Avenue de Rumine")

FR_CITIES = [
    ("Paris", ["75%03d" % i for i in range(1, 21)]), ("Lyon", ["6900%d" % i for i in range(1, 10)]),
    ("Marseille", ["130%02d" % i for i in range(1, 17)]), ("Toulouse", ["31000", "31100", "31200", "31300", "31400", "31500"]),
    ("Bordeaux", ["33000", "33100", "33200", "33300", "33800"]), ("Lille", ["59000", "59160", "59260", "59800"]),
    ("Nantes", ["44000", "44100", "44200", "44300"]), ("Strasbourg", ["67000", "67100", "67200"]),
    ("Montpellier", ["34000", "34070", "34080", "34090"]), ("Rennes", ["35000", "35200", "35700"]),
    ("Nice", ["06000", "06100", "06200", "06300"]), ("Grenoble", ["38000", "38100"]), ("Dijon", ["21000"]),
    ("Angers", ["49000", "49100"]), ("Brest", ["29200"]), ("Quimper", ["29000"]), ("Annecy", ["74000"]),
    ("Chamonix-Mont-Blanc", ["74400"]), ("Aix-en-Provence", ["13090", "13100"]), ("Avignon", ["84000"]),
    ("Colmar", ["68000"]), ("Saint-Malo", ["35400"]), ("La Rochelle", ["17000"]), ("Biarritz", ["64200"]),
    ("Besançon", ["25000"]), ("Clermont-Ferrand", ["63000", "63100"]), ("Limoges", ["87000"]),
    ("Perpignan", ["66000"]), ("Carcassonne", ["11000"]), ("Saint-Étienne", ["42000", "42100"]),
    ("Le Havre", ["76600"]), ("Rouen", ["76000", "76100"]), ("Metz", ["57000"]), ("Nancy", ["54000"]),
    ("Vannes", ["56000"]), ("Arles", ["13200"]), ("Sète", ["34200"]), ("Pau", ["64000"]), ("Tours", ["37000", "37100"]),
    ("Orléans", ["45000"]), ("Caen", ["14000"]), ("Montreuil", ["93100"]), ("Boulogne-Billancourt", ["92100"]),
    ("Villeurbanne", ["69100"]), ("Lons-le-Saunier", ["39000"]), ("Issy-les-Moulineaux", ["92130"]),
]
FR_STREETS = L("""rue de la Paix, rue Victor Hugo, avenue Jean Jaurès, boulevard Saint-Germain, rue de la République,
place de la Mairie, allée des Tilleuls, chemin des Vignes, impasse des Lilas, rue du Général Leclerc, avenue Foch,
boulevard Voltaire, rue Pasteur, rue des Écoles, quai des Chartrons, rue Sainte-Catherine, cours Mirabeau,
rue de Rivoli, rue du Faubourg Saint-Antoine, avenue de la Libération, route de Lyon, rue Nationale,
rue Gambetta, place Bellecour, rue Émile Zola, rue des Martyrs, rue Oberkampf, rue Mouffetard, rue de l'Église,
rue du Moulin, rue des Acacias, avenue des Champs-Élysées, rue Paul Bert, boulevard de la Croix-Rousse,
rue d'Alésia, rue du Four, square Montholon, rue de Belleville""")
FR_RESIDENCES = L("Résidence Les Pins, Résidence Le Parc, Résidence du Lac, Les Jardins de Florian, Résidence Bellevue, Le Clos des Vignes")
BE_FR_CITIES = [("Bruxelles", ["1000"]), ("Ixelles", ["1050"]), ("Schaerbeek", ["1030"]), ("Liège", ["4000", "4020"]),
                ("Namur", ["5000"]), ("Charleroi", ["6000"]), ("Mons", ["7000"]), ("Louvain-la-Neuve", ["1348"]),
                ("Uccle", ["1180"]), ("Etterbeek", ["1040"])]
BE_FR_STREETS = L("Rue Neuve, Chaussée d'Ixelles, Avenue Louise, Rue du Marché aux Herbes, Boulevard d'Avroy, Rue de Fer, Rue Haute, Chaussée de Waterloo, Avenue de Tervueren, Rue des Bouchers")

ES_CITIES = [
    ("Madrid", "280", None), ("Barcelona", "080", None), ("Valencia", "460", None), ("Sevilla", "410", None),
    ("Zaragoza", "500", None), ("Málaga", "290", None), ("Bilbao", "480", None), ("A Coruña", "150", None),
    ("Santiago de Compostela", "157", None), ("Vigo", "362", None), ("Oviedo", "330", None), ("Gijón", "332", None),
    ("Santander", "390", None), ("Donostia-San Sebastián", "200", None), ("Pamplona", "310", None),
    ("Logroño", "260", None), ("Valladolid", "470", None), ("Salamanca", "370", None), ("Burgos", "090", None),
    ("León", "240", None), ("Toledo", "450", None), ("Cuenca", "160", None), ("Granada", "180", None),
    ("Córdoba", "140", None), ("Cádiz", "110", None), ("Jerez de la Frontera", "114", "Cádiz"),
    ("Almería", "040", None), ("Murcia", "300", None), ("Cartagena", "302", "Murcia"), ("Alicante", "030", None),
    ("Castellón de la Plana", "120", None), ("Palma", "070", None), ("Las Palmas de Gran Canaria", "350", None),
    ("Santa Cruz de Tenerife", "380", None), ("Girona", "170", None), ("Lleida", "250", None),
    ("Tarragona", "430", None), ("Cáceres", "100", None), ("Badajoz", "060", None), ("Huesca", "220", None),
    ("Teruel", "440", None), ("Ronda", "29400", "Málaga"), ("Sitges", "08870", "Barcelona"),
    ("Cangas de Onís", "33550", "Asturias"), ("Zafra", "06300", "Badajoz"), ("Collado Villalba", "28400", "Madrid"),
    ("Alcalá de Henares", "288", "Madrid"), ("Vitoria-Gasteiz", "010", None), ("Ourense", "320", None),
]
ES_STREETS = [
    ("Calle", "Mayor"), ("Calle", "de Alcalá"), ("Calle", "Gran Vía"), ("Paseo", "de la Castellana"),
    ("Avenida", "de la Constitución"), ("Calle", "Real"), ("Plaza", "Mayor"), ("Calle", "del Carmen"),
    ("Calle", "Larios"), ("Avenida", "de América"), ("Calle", "San Fernando"), ("Calle", "Sierpes"),
    ("Rúa", "do Franco"), ("Rúa", "Nova"), ("Calle", "Uría"), ("Alameda", "de Mazarredo"), ("Calle", "Serrano"),
    ("Calle", "de Goya"), ("Calle", "de Velázquez"), ("Calle", "de Toledo"), ("Camino", "de Ronda"),
    ("Calle", "Ancha"), ("Travesía", "de la Paz"), ("Ronda", "de Segovia"), ("Calle", "del Pez"),
    ("Avenida", "de Andalucía"), ("Calle", "de la Luna"), ("Calle", "Bailén"), ("Paseo", "de Gràcia"),
    ("Carrer", "de Provença"), ("Carrer", "de Mallorca"), ("Rambla", "de Catalunya"), ("Avinguda", "Diagonal"),
    ("Calle", "de los Reyes Católicos"), ("Plaza", "de España"),
]
ES_ABBR = {"Calle": ["Calle", "C/", "C/", "Calle", "c/"], "Avenida": ["Avenida", "Avda.", "Av."],
           "Plaza": ["Plaza", "Pza.", "Plaza"], "Paseo": ["Paseo", "Pº", "Paseo"], "Carrer": ["Carrer", "C/"],
           "Avinguda": ["Avinguda", "Av."], "Rúa": ["Rúa"], "Alameda": ["Alameda"], "Camino": ["Camino"],
           "Travesía": ["Travesía", "Trav."], "Ronda": ["Ronda"], "Rambla": ["Rambla"]}
ES_UNITS = L("3º izq., 2ºB, 4º dcha., bajo, 1º 2ª, Esc. A 5º C, ático, 5º D, 2º izda., entresuelo 1ª, 3.º A, bajo B")

IT_CITIES = [
    ("Milano", "201", "MI"), ("Roma", "001", "RM"), ("Napoli", "801", "NA"), ("Torino", "101", "TO"),
    ("Palermo", "901", "PA"), ("Genova", "161", "GE"), ("Bologna", "401", "BO"), ("Firenze", "501", "FI"),
    ("Bari", "701", "BA"), ("Catania", "951", "CT"), ("Venezia", "301", "VE"), ("Verona", "371", "VR"),
    ("Padova", "351", "PD"), ("Trieste", "341", "TS"), ("Brescia", "251", "BS"), ("Bergamo", "241", "BG"),
    ("Parma", "431", "PR"), ("Modena", "411", "MO"), ("Perugia", "061", "PG"), ("Lecce", "731", "LE"),
    ("Cagliari", "091", "CA"), ("Sassari", "071", "SS"), ("Trento", "381", "TN"), ("Bolzano", "391", "BZ"),
    ("Udine", "331", "UD"), ("Ancona", "601", "AN"), ("Pescara", "651", "PE"), ("Salerno", "841", "SA"),
    ("Siena", "53100", "SI"), ("Lucca", "55100", "LU"), ("Pisa", "5612", "PI"), ("Cremona", "26100", "CR"),
    ("Mantova", "46100", "MN"), ("Como", "22100", "CO"), ("Aosta", "11100", "AO"), ("Matera", "75100", "MT"),
    ("Cortina d'Ampezzo", "32043", "BL"), ("Alberobello", "70011", "BA"), ("Cefalù", "90015", "PA"),
    ("San Gimignano", "53037", "SI"), ("Bellagio", "22021", "CO"), ("Reggio nell'Emilia", "4212", "RE"),
    ("Reggio Calabria", "891", "RC"), ("Sesto San Giovanni", "20099", "MI"), ("Montepulciano", "53045", "SI"),
]
IT_STREETS = L("""Via Roma, Via Garibaldi, Corso Vittorio Emanuele II, Via Dante Alighieri, Piazza del Duomo,
Via Mazzini, Via Cavour, Via Giuseppe Verdi, Corso Italia, Via XX Settembre, Via Nazionale, Viale Europa,
Via dei Mille, Via Alessandro Manzoni, Via Torino, Corso Buenos Aires, Via Toledo, Via Po, Via del Corso,
Via Appia Nuova, Via della Spiga, Via Sparano, Via Etnea, Borgo San Frediano, Lungarno Corsini,
Via dell'Indipendenza, Strada Maggiore, Vicolo del Cinque, Largo Argentina, Via Santa Lucia,
Viale Monza, Via Tiburtina, Piazza Garibaldi, Via San Gregorio Armeno, Via Emilia Est, Viale dei Tigli""")
IT_UNITS = L("scala B int. 5, int. 7, piano 3, scala A, interno 12, int. 2, scala C int. 14, piano terra, 2° piano int. 4")
VENEZIA_SESTIERI = L("Cannaregio, Castello, Dorsoduro, San Polo, Santa Croce, San Marco")

NL_CITIES = [
    ("Amsterdam", 1011, 1109), ("Rotterdam", 3011, 3089), ("Den Haag", 2491, 2599), ("'s-Gravenhage", 2511, 2597),
    ("Utrecht", 3511, 3585), ("Eindhoven", 5611, 5658), ("Groningen", 9711, 9747), ("Tilburg", 5011, 5049),
    ("Almere", 1311, 1363), ("Breda", 4811, 4839), ("Nijmegen", 6511, 6546), ("'s-Hertogenbosch", 5211, 5249),
    ("Haarlem", 2011, 2037), ("Arnhem", 6811, 6846), ("Leiden", 2311, 2334), ("Maastricht", 6211, 6229),
    ("Delft", 2611, 2629), ("Zwolle", 8011, 8046), ("Leeuwarden", 8911, 8939), ("Deventer", 7411, 7431),
    ("Gouda", 2801, 2809), ("Alkmaar", 1811, 1827), ("Amersfoort", 3811, 3829), ("Enschede", 7511, 7547),
    ("Hoorn", 1621, 1625), ("Den Helder", 1781, 1789), ("Middelburg", 4331, 4339), ("Zierikzee", 4301, 4303),
    ("Volendam", 1131, 1132), ("Giethoorn", 8355, 8355), ("Harderwijk", 3841, 3848), ("Bussum", 1401, 1406),
    ("Zaandam", 1501, 1509), ("Wageningen", 6701, 6709), ("Dokkum", 9101, 9104), ("Sneek", 8601, 8608),
]
NL_STREETS = L("""Kerkstraat, Dorpsstraat, Hoofdstraat, Stationsweg, Molenweg, Schoolstraat, Julianastraat,
Beatrixlaan, Wilhelminastraat, Prinsengracht, Keizersgracht, Herengracht, Oudegracht, Damrak, Coolsingel,
Witte de Withstraat, Lange Voorhout, Grote Markt, Vismarkt, Nieuwe Binnenweg, Van Woustraat,
Ferdinand Bolstraat, Bilderdijkkade, Kanaalweg, Zeestraat, Laan van Meerdervoort, Marnixstraat,
Lindengracht, Tolstraat, Burgemeester de Withstraat, Nieuwstraat, Kortenaerstraat, Zuiderdiep,
Breestraat, Spoorlaan, Parallelweg, Eikenlaan, Vondellaan, Rembrandtplein, Achter de Hoven""")
NL_SUFFIX = ["", "", "", "", "-II", "-1", " hs", " A", " B", "-3", " bis", "a", "-huis", " rd"]
BE_NL_CITIES = [("Antwerpen", ["2000", "2018", "2060", "2600"]), ("Gent", ["9000", "9040", "9050"]), ("Brugge", ["8000", "8200"]),
                ("Leuven", ["3000", "3010"]), ("Mechelen", ["2800"]), ("Hasselt", ["3500"]), ("Kortrijk", ["8500"]),
                ("Oostende", ["8400"]), ("Aalst", ["9300"]), ("Sint-Niklaas", ["9100"]), ("Genk", ["3600"])]
BE_NL_STREETS = L("Meir, Kammenstraat, Veldstraat, Steenstraat, Bondgenotenlaan, Bruul, Koningin Astridlaan, Nationalestraat, Kouter, Vlaanderenstraat, Diestsestraat")

PT_CITIES = [
    ("Lisboa", 1000, 1990), ("Porto", 4000, 4369), ("Braga", 4700, 4719), ("Coimbra", 3000, 3049),
    ("Aveiro", 3800, 3819), ("Faro", 8000, 8009), ("Funchal", 9000, 9064), ("Ponta Delgada", 9500, 9504),
    ("Setúbal", 2900, 2914), ("Évora", 7000, 7005), ("Viseu", 3500, 3519), ("Guimarães", 4800, 4839),
    ("Viana do Castelo", 4900, 4935), ("Sintra", 2710, 2714), ("Cascais", 2750, 2779), ("Amadora", 2700, 2724),
    ("Almada", 2800, 2819), ("Leiria", 2400, 2419), ("Tavira", 8800, 8800), ("Lagos", 8600, 8600),
    ("Óbidos", 2510, 2510), ("Bragança", 5300, 5300), ("Castelo Branco", 6000, 6000),
    ("Vila Nova de Gaia", 4400, 4434), ("Matosinhos", 4450, 4454), ("Ericeira", 2655, 2655),
    ("Mirandela", 5370, 5370), ("Portimão", 8500, 8500),
]
PT_STREETS = L("""Rua Augusta, Avenida da Liberdade, Rua de Santa Catarina, Rua das Flores, Rua Garrett,
Rua do Ouro, Rua da Prata, Avenida dos Aliados, Praça do Comércio, Rua Direita, Largo do Carmo,
Travessa do Carmo, Rua de Cedofeita, Rua Miguel Bombarda, Avenida Almirante Reis, Calçada da Estrela,
Rua 25 de Abril, Avenida 5 de Outubro, Avenida da República, Estrada de Benfica, Rua do Souto,
Rua Ferreira Borges, Rua da Sofia, Rua de São Bento, Rua Infante D. Henrique, Alameda D. Afonso Henriques""")
PT_UNITS = L("2.º Esq., 4º Dto, r/c, 1.º andar, 3.º Frente, cave, 5.º Dto., r/c Esq., 2.º B, 7.º andar, sobreloja")
BR_CITIES = [
    ("São Paulo", "SP", 1000, 5999, ["Jardins", "Bela Vista", "Pinheiros", "Vila Madalena", "Moema", "Mooca", "Santana"]),
    ("Rio de Janeiro", "RJ", 20000, 23799, ["Ipanema", "Copacabana", "Botafogo", "Tijuca", "Leblon", "Laranjeiras"]),
    ("Belo Horizonte", "MG", 30000, 31999, ["Savassi", "Funcionários", "Lourdes", "Pampulha"]),
    ("Salvador", "BA", 40000, 42499, ["Barra", "Rio Vermelho", "Pituba"]),
    ("Fortaleza", "CE", 60000, 61599, ["Aldeota", "Meireles", "Benfica"]),
    ("Recife", "PE", 50000, 52999, ["Boa Viagem", "Casa Forte", "Graças"]),
    ("Porto Alegre", "RS", 90000, 91999, ["Moinhos de Vento", "Cidade Baixa", "Menino Deus"]),
    ("Curitiba", "PR", 80000, 82999, ["Batel", "Água Verde", "Centro Cívico"]),
    ("Florianópolis", "SC", 88000, 88099, ["Lagoa da Conceição", "Trindade", "Centro"]),
    ("Brasília", "DF", 70000, 72799, ["Asa Sul", "Asa Norte", "Lago Sul"]),
    ("Manaus", "AM", 69000, 69099, ["Adrianópolis", "Centro"]), ("Belém", "PA", 66000, 66999, ["Nazaré", "Umarizal"]),
    ("Goiânia", "GO", 74000, 74899, ["Setor Bueno", "Setor Marista"]), ("Campinas", "SP", 13000, 13139, ["Cambuí", "Taquaral"]),
    ("Niterói", "RJ", 24000, 24399, ["Icaraí", "Santa Rosa"]), ("Ouro Preto", "MG", 35400, 35400, ["Centro"]),
    ("Paraty", "RJ", 23970, 23970, ["Centro Histórico"]), ("Blumenau", "SC", 89000, 89099, ["Vila Nova", "Garcia"]),
    ("Natal", "RN", 59000, 59161, ["Ponta Negra", "Tirol"]), ("João Pessoa", "PB", 58000, 58099, ["Tambaú", "Manaíra"]),
]
BR_STREETS = L("""Rua Oscar Freire, Avenida Paulista, Rua Augusta, Rua Visconde de Pirajá, Avenida Atlântica,
Rua das Laranjeiras, Avenida Afonso Pena, Rua da Bahia, Avenida Sete de Setembro, Rua Padre Chagas,
Avenida Beira-Mar, Rua XV de Novembro, Alameda Santos, Rua Harmonia, Rua dos Andradas, Avenida Boa Viagem,
Travessa do Ouvidor, Rua Direita, Avenida Getúlio Vargas, Rua Barão de Jaguara""")
BR_UNITS = L("apto 52, ap. 1203, casa 2, bloco B apto 104, sala 1205, fundos, apto 31, cj. 82, loja 3")

# cities used as stand-alone LOCATION mentions (includes the address cities)
EXTRA_CITIES = {
    "us": L("Poughkeepsie, Walla Walla, Boca Raton, Sheboygan, Kalispell, Flagstaff, Chattanooga, Tallahassee, Cheyenne, Ithaca"),
    "gb": L("Skegness, Tobermory, Llandudno, Penzance, Harrogate, Aberdeen, Dundee, Swansea, Derry, Nottingham, Leicester, Southampton, Plymouth, Milton Keynes"),
    "ie": L("Dublin, Cork, Galway, Limerick, Waterford, Killarney, Clonakilty, Dún Laoghaire, Drogheda, Tralee"),
    "au": L("Sydney, Melbourne, Perth, Brisbane, Adelaide, Darwin, Cairns, Alice Springs, Geelong, Coonabarabran"),
    "in": L("Delhi, Mumbai, Kolkata, Ooty, Munnar, Hampi, Shimla, Pondicherry, Varanasi, Udaipur, Nashik"),
    "jp": L("Tokyo, Osaka, Kyoto, Sapporo, Fukuoka, Nagoya, Sendai, Nara, Kanazawa, Hiroshima, Naha"),
    "de": L("Berlin, Hamburg, München, Köln, Bad Kissingen, Sankt Peter-Ording, Husum, Bamberg, Konstanz, Flensburg, Saarbrücken, Potsdam, Mainz, Wiesbaden, Ingolstadt, Paderborn"),
    "at": L("Wien, Graz, Linz, Salzburg, Innsbruck, Villach, Kitzbühel, Zell am See"),
    "ch": L("Zürich, Bern, Basel, Luzern, Lugano, Interlaken, Davos, Schaffhausen"),
    "fr": L("Paris, Lyon, Marseille, Toulouse, Bordeaux, Lille, Nantes, Strasbourg, Montpellier, Rennes, Saint-Brieuc, Honfleur, Gap, Draguignan, Aurillac, Mulhouse, Chartres, Poitiers, Bayonne, Ajaccio"),
    "be": L("Bruxelles, Liège, Namur, Charleroi, Mons, Tournai, Arlon, Spa, Dinant, Waterloo"),
    "es": L("Madrid, Barcelona, Valencia, Sevilla, Bilbao, A Coruña, Benidorm, Cuenca, Segovia, Ávila, Cádiz, Lugo, Ponferrada, Elche, Marbella, Mérida, Tudela, Jaca"),
    "it": L("Milano, Roma, Napoli, Torino, Firenze, Bologna, Venezia, Genova, Palermo, Bari, Rimini, Sorrento, Assisi, Orvieto, Vicenza, Treviso, Ferrara, Ravenna, Arezzo, Livorno"),
    "nl": L("Amsterdam, Rotterdam, Utrecht, Den Haag, Eindhoven, Groningen, Zandvoort, Scheveningen, Texel, Kampen, Venlo, Roermond, Assen, Emmen, Apeldoorn, Hilversum"),
    "be_nl": L("Antwerpen, Gent, Brugge, Leuven, Mechelen, Hasselt, Ieper, Knokke-Heist, Lier, Turnhout"),
    "pt": L("Lisboa, Porto, Braga, Coimbra, Faro, Sintra, Nazaré, Peniche, Tomar, Chaves, Lamego, Albufeira, Setúbal, Elvas"),
    "br": L("São Paulo, Rio de Janeiro, Belo Horizonte, Salvador, Recife, Curitiba, Porto Alegre, Manaus, Petrópolis, Ilhéus, Campina Grande, Londrina, Santos, Uberlândia"),
}

REGIONS = {
    "us": L("California, Texas, Ohio, Vermont, Oregon, Colorado, Florida, Massachusetts, New England, Maine, Montana"),
    "gb": L("Yorkshire, Cornwall, Kent, Scotland, Wales, Northern Ireland, Cumbria, Devon, Northumberland, Norfolk, Snowdonia"),
    "ie": L("County Kerry, Connemara, County Clare, West Cork, Donegal"),
    "au": L("Queensland, New South Wales, Tasmania, Western Australia, Victoria, South Australia"),
    "in": L("Karnataka, Kerala, Maharashtra, Tamil Nadu, Punjab, Goa, Rajasthan, Telangana"),
    "jp": L("Hokkaido, Okinawa, Kanto, Kansai, Kyushu"),
    "de": L("Bayern, Nordrhein-Westfalen, Baden-Württemberg, Sachsen, Schleswig-Holstein, Niedersachsen, Thüringen, Brandenburg, Mecklenburg-Vorpommern, Hessen, Rheinland-Pfalz, Saarland, Allgäu, Eifel, Sauerland, Schwarzwald, Ruhrgebiet, Oberbayern, Franken, Emsland, Uckermark"),
    "at": L("Tirol, Steiermark, Kärnten, Vorarlberg, Salzkammergut, Burgenland"),
    "ch": L("Graubünden, Wallis, Tessin, Berner Oberland"),
    "fr": L("Île-de-France, Bretagne, Normandie, Occitanie, Provence-Alpes-Côte d'Azur, Auvergne-Rhône-Alpes, Nouvelle-Aquitaine, Grand Est, Hauts-de-France, Bourgogne-Franche-Comté, Pays de la Loire, Corse, Alsace, Dordogne, Savoie, Haute-Savoie, Finistère, Val-de-Marne, Seine-Saint-Denis"),
    "be": L("Wallonie, Brabant wallon, Ardennes"),
    "es": L("Andalucía, Cataluña, Catalunya, Galicia, Euskadi, País Vasco, Castilla y León, Castilla-La Mancha, Comunidad de Madrid, Comunitat Valenciana, Aragón, Asturias, Cantabria, Navarra, La Rioja, Extremadura, Región de Murcia, Islas Baleares, Canarias"),
    "it": L("Lombardia, Toscana, Sicilia, Sardegna, Piemonte, Veneto, Emilia-Romagna, Lazio, Campania, Puglia, Calabria, Liguria, Umbria, Marche, Abruzzo, Molise, Basilicata, Trentino-Alto Adige, Friuli Venezia Giulia, Valle d'Aosta, Salento, Langhe, Cilento"),
    "nl": L("Noord-Holland, Zuid-Holland, Noord-Brabant, Gelderland, Limburg, Friesland, Fryslân, Drenthe, Overijssel, Flevoland, Zeeland, Twente, Groningen"),
    "be_nl": L("Vlaanderen, West-Vlaanderen, Oost-Vlaanderen, Antwerpen, Limburg, Vlaams-Brabant"),
    "pt": L("Algarve, Alentejo, Minho, Trás-os-Montes, Douro, Beira Alta, Madeira, Açores, Ribatejo"),
    "br": L("Minas Gerais, Bahia, Santa Catarina, Rio Grande do Sul, Pernambuco, Ceará, Amazonas, Paraná, Goiás, Mato Grosso do Sul"),
}

# country names as written in each language
COUNTRY_NAMES = {
    "us": {"en": "USA", "de": "USA", "fr": "États-Unis", "es": "Estados Unidos", "it": "Stati Uniti", "nl": "Verenigde Staten", "pt": "Estados Unidos"},
    "gb": {"en": "United Kingdom", "de": "Großbritannien", "fr": "Royaume-Uni", "es": "Reino Unido", "it": "Regno Unito", "nl": "Verenigd Koninkrijk", "pt": "Reino Unido"},
    "ie": {"en": "Ireland", "de": "Irland", "fr": "Irlande", "es": "Irlanda", "it": "Irlanda", "nl": "Ierland", "pt": "Irlanda"},
    "au": {"en": "Australia", "de": "Australien", "fr": "Australie", "es": "Australia", "it": "Australia", "nl": "Australië", "pt": "Austrália"},
    "in": {"en": "India", "de": "Indien", "fr": "Inde", "es": "India", "it": "India", "nl": "India", "pt": "Índia"},
    "jp": {"en": "Japan", "de": "Japan", "fr": "Japon", "es": "Japón", "it": "Giappone", "nl": "Japan", "pt": "Japão"},
    "de": {"en": "Germany", "de": "Deutschland", "fr": "Allemagne", "es": "Alemania", "it": "Germania", "nl": "Duitsland", "pt": "Alemanha"},
    "at": {"en": "Austria", "de": "Österreich", "fr": "Autriche", "es": "Austria", "it": "Austria", "nl": "Oostenrijk", "pt": "Áustria"},
    "ch": {"en": "Switzerland", "de": "Schweiz", "fr": "Suisse", "es": "Suiza", "it": "Svizzera", "nl": "Zwitserland", "pt": "Suíça"},
    "fr": {"en": "France", "de": "Frankreich", "fr": "France", "es": "Francia", "it": "Francia", "nl": "Frankrijk", "pt": "França"},
    "be": {"en": "Belgium", "de": "Belgien", "fr": "Belgique", "es": "Bélgica", "it": "Belgio", "nl": "België", "pt": "Bélgica"},
    "es": {"en": "Spain", "de": "Spanien", "fr": "Espagne", "es": "España", "it": "Spagna", "nl": "Spanje", "pt": "Espanha"},
    "it": {"en": "Italy", "de": "Italien", "fr": "Italie", "es": "Italia", "it": "Italia", "nl": "Italië", "pt": "Itália"},
    "nl": {"en": "Netherlands", "de": "Niederlande", "fr": "Pays-Bas", "es": "Países Bajos", "it": "Paesi Bassi", "nl": "Nederland", "pt": "Países Baixos"},
    "pt": {"en": "Portugal", "de": "Portugal", "fr": "Portugal", "es": "Portugal", "it": "Portogallo", "nl": "Portugal", "pt": "Portugal"},
    "br": {"en": "Brazil", "de": "Brasilien", "fr": "Brésil", "es": "Brasil", "it": "Brasile", "nl": "Brazilië", "pt": "Brasil"},
    "pl": {"en": "Poland", "de": "Polen", "fr": "Pologne", "es": "Polonia", "it": "Polonia", "nl": "Polen", "pt": "Polónia"},
    "tr": {"en": "Turkey", "de": "Türkei", "fr": "Turquie", "es": "Turquía", "it": "Turchia", "nl": "Turkije", "pt": "Turquia"},
    "ma": {"en": "Morocco", "de": "Marokko", "fr": "Maroc", "es": "Marruecos", "it": "Marocco", "nl": "Marokko", "pt": "Marrocos"},
    "mx": {"en": "Mexico", "de": "Mexiko", "fr": "Mexique", "es": "México", "it": "Messico", "nl": "Mexico", "pt": "México"},
    "ca": {"en": "Canada", "de": "Kanada", "fr": "Canada", "es": "Canadá", "it": "Canada", "nl": "Canada", "pt": "Canadá"},
    "gr": {"en": "Greece", "de": "Griechenland", "fr": "Grèce", "es": "Grecia", "it": "Grecia", "nl": "Griekenland", "pt": "Grécia"},
    "ao": {"en": "Angola", "de": "Angola", "fr": "Angola", "es": "Angola", "it": "Angola", "nl": "Angola", "pt": "Angola"},
    "sr": {"en": "Suriname", "de": "Suriname", "fr": "Suriname", "es": "Surinam", "it": "Suriname", "nl": "Suriname", "pt": "Suriname"},
    "ar": {"en": "Argentina", "de": "Argentinien", "fr": "Argentine", "es": "Argentina", "it": "Argentina", "nl": "Argentinië", "pt": "Argentina"},
}

# which address countries each language uses by default (weights)
LANG_COUNTRIES = {
    "en": [("us", 40), ("gb", 25), ("ie", 8), ("au", 10), ("in", 12), ("jp", 5)],
    "de": [("de", 75), ("at", 15), ("ch", 10)],
    "fr": [("fr", 82), ("be", 12), ("chfr", 6)],
    "es": [("es", 100)],
    "it": [("it", 100)],
    "nl": [("nl", 85), ("be_nl", 15)],
    "pt": [("pt", 50), ("br", 50)],
}
# the ISO code a (possibly regional) address country maps to
COUNTRY_ISO = {"chfr": "ch", "be_nl": "be"}

REGIONS["chfr"] = L("Vaud, Valais, Jura, Gruyère, Lavaux")
EXTRA_CITIES["chfr"] = L("Genève, Lausanne, Montreux, Vevey, Neuchâtel, Nyon, Yverdon-les-Bains")


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------
DIGITS = "0123456789"
UPPER = string.ascii_uppercase
LOWER = string.ascii_lowercase
B62 = string.ascii_letters + string.digits
B64URL = B62 + "-_"
HEX = "0123456789abcdef"
B32 = UPPER + "234567"


def rstr(rng, alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def digits(rng, n):
    return rstr(rng, DIGITS, n)


def fill_code(rng, prefix, total):
    return prefix + digits(rng, total - len(prefix))


def ascii_fold(s):
    s = s.replace("ß", "ss").replace("ø", "o").replace("Ø", "O").replace("æ", "ae")
    s = s.replace("ł", "l").replace("Ł", "L").replace("ı", "i").replace("đ", "d").replace("œ", "oe")
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s if not unicodedata.combining(c))


def slug(s, sep=""):
    s = ascii_fold(s).lower()
    out = []
    for ch in s:
        if ch.isalnum():
            out.append(ch)
        elif ch in " -":
            out.append(sep)
    return "".join(out)


def wchoice(rng, pairs):
    tot = sum(w for _, w in pairs)
    x = rng.uniform(0, tot)
    for v, w in pairs:
        x -= w
        if x <= 0:
            return v
    return pairs[-1][0]


# ---------------------------------------------------------------------------
# ADDRESSES  (each returns (text, city))
# style: "one" = single line, "ml" = multi-line, "street" = street line only
# ---------------------------------------------------------------------------

def addr_us(rng, style):
    city, st, z3 = rng.choice(US_CITIES)
    num = rng.choice([rng.randint(1, 99), rng.randint(100, 999), rng.randint(1000, 9999), rng.randint(10000, 29999)])
    d = rng.choice(["", "", "", "", "N ", "S ", "E ", "W "])
    street = f"{num} {d}{rng.choice(US_STREETS)} {rng.choice(US_SUFFIX)}"
    unit = rng.choice([None, None, None, None,
                       f"Apt {rng.randint(1, 30)}{rng.choice('ABCDEF')}", f"Apt. {rng.randint(1, 40)}",
                       f"Suite {rng.randint(1, 9)}{rng.randint(0, 4)}0", f"Unit {rng.randint(1, 40)}",
                       f"#{rng.randint(1, 12)}{rng.choice('ABCD')}", f"Ste {rng.randint(1, 6)}00"])
    z = fill_code(rng, z3, 5)
    if rng.random() < 0.15:
        z += "-" + digits(rng, 4)
    line1 = street
    if unit:
        line1 += (" " if unit.startswith("#") else ", ") + unit
    if style == "street":
        return line1, city
    if style == "ml":
        return f"{line1}\n{city}, {st} {z}", city
    return f"{line1}, {city}, {st} {z}", city


def addr_gb(rng, style):
    town, dists, locs = rng.choice(UK_PLACES)
    pc = f"{rng.choice(dists)} {rng.randint(1, 9)}{rng.choice(UK_POST_LETTERS)}{rng.choice(UK_POST_LETTERS)}"
    num = rng.randint(1, 180)
    street = rng.choice(UK_STREETS)
    lines = []
    r = rng.random()
    if r < 0.25:
        lines.append(f"Flat {rng.randint(1, 12)}{rng.choice(['', '', 'A', 'B'])}")
        lines.append(f"{num} {street}")
    elif r < 0.33:
        lines.append(rng.choice(UK_HOUSE_NAMES))
        lines.append(street)
    else:
        lines.append(f"{num}{rng.choice(['', '', '', 'a', 'b'])} {street}")
    if style == "street":
        return ", ".join(lines), town
    if locs and rng.random() < 0.5:
        lines.append(rng.choice(locs))
    if style == "ml":
        t = town.upper() if rng.random() < 0.35 else town
        return "\n".join(lines + [t, pc]), town
    return ", ".join(lines + [f"{town} {pc}"]), town


def addr_ie(rng, style):
    place, county, key = rng.choice(IE_PLACES)
    eir = key + " " + rstr(rng, EIRCODE_CHARS, 4)
    lines = []
    if rng.random() < 0.25:
        lines.append(f"Apt {rng.randint(1, 40)}, {rng.choice(['The Maltings', 'Riverside Court', 'Harbour Point', 'Custom House Square'])}")
    lines.append(f"{rng.randint(1, 120)} {rng.choice(IE_STREETS)}")
    if style == "street":
        return ", ".join(lines), place.split(",")[0]
    lines.append(place)
    if county:
        lines.append(county)
    lines.append(eir)
    city = place.split(",")[-1].strip()
    city = city.replace(" 2", "").replace(" 6", "").replace(" 8", "")
    return ("\n" if style == "ml" else ", ").join(lines), city


def addr_au(rng, style):
    sub, st, pc = rng.choice(AU_PLACES)
    num = rng.randint(1, 250)
    street = rng.choice(AU_STREETS)
    if rng.random() < 0.4:
        u = rng.randint(1, 30)
        line1 = rng.choice([f"{u}/{num} {street}", f"Unit {u}, {num} {street}", f"Unit {u}/{num} {street}"])
    else:
        line1 = f"{num} {street}"
    if style == "street":
        return line1, sub
    s = sub.upper() if rng.random() < 0.4 else sub
    last = f"{s} {st} {pc}"
    return (f"{line1}\n{last}" if style == "ml" else f"{line1}, {last}"), sub


def addr_in(rng, style):
    city, state, pin3, locs = rng.choice(IN_PLACES)
    pin = pin3 + digits(rng, 3)
    loc = rng.choice(locs)
    r = rng.random()
    if r < 0.4:
        parts = [f"Flat {rng.randint(1, 12)}0{rng.randint(1, 9)}", rng.choice(IN_BUILDINGS), rng.choice(IN_ROADS), loc]
    elif r < 0.7:
        parts = [f"H.No. {rng.randint(1, 20)}-{rng.randint(1, 9)}-{rng.randint(10, 999)}", rng.choice(IN_ROADS), loc]
    else:
        parts = [f"{rng.choice('ABCDE')}-{rng.randint(1, 300)}", loc]
    if style == "street":
        return ", ".join(parts[:-1]), city
    tail = rng.choice([f"{city}, {state} {pin}", f"{city} - {pin}", f"{city}, {state} - {pin}", f"{city} {pin}"])
    if style == "ml":
        return ",\n".join(parts + [tail]) if rng.random() < 0.5 else "\n".join(parts + [tail]), city
    return ", ".join(parts + [tail]), city


def addr_jp(rng, style):
    ward, city, pref, pc3, nbhds = rng.choice(JP_PLACES)
    pc = f"{pc3}-{digits(rng, 4)}"
    nb = rng.choice(nbhds)
    chome = f"{rng.randint(1, 5)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"
    lines = []
    if rng.random() < 0.45:
        lines.append(f"{rng.choice(JP_BUILDINGS)} {rng.randint(1, 9)}0{rng.randint(1, 9)}")
    lines.append(f"{chome} {nb}" if rng.random() < 0.7 else f"{nb} {chome}")
    if style == "street":
        return ", ".join(lines), city
    cityline = f"{ward}, {city}" + (f", {pref}" if pref else "") + f" {pc}"
    return ("\n" if style == "ml" else ", ").join(lines + [cityline]), city


def _de_unit(rng):
    return rng.choice([None] * 5 + [f"{rng.randint(1, 5)}. OG", f"Whg. {rng.randint(1, 24)}", "Hinterhaus",
                                    f"{rng.randint(1, 4)}. OG links", f"App. {rng.randint(1, 40)}", "EG rechts",
                                    f"Wohnung {rng.randint(1, 12)}"])


def addr_de(rng, style):
    city, plzs = rng.choice(DE_CITIES)
    plz = fill_code(rng, rng.choice(plzs), 5)
    line1 = f"{rng.choice(DE_STREETS)} {rng.randint(1, 160)}{rng.choice(['', '', '', '', 'a', 'b', 'c'])}"
    unit = _de_unit(rng)
    if unit:
        line1 += ", " + unit
    if style == "street":
        return line1, city
    return (f"{line1}\n{plz} {city}" if style == "ml" else f"{line1}, {plz} {city}"), city


def addr_at(rng, style):
    city, plzs = rng.choice(AT_CITIES)
    plz = rng.choice(plzs)
    n = rng.randint(1, 120)
    line1 = rng.choice([f"{rng.choice(AT_STREETS)} {n}/{rng.randint(1, 4)}/{rng.randint(1, 30)}",
                        f"{rng.choice(AT_STREETS)} {n}/{rng.randint(1, 25)}", f"{rng.choice(AT_STREETS)} {n}"])
    if style == "street":
        return line1, city
    return (f"{line1}\n{plz} {city}" if style == "ml" else f"{line1}, {plz} {city}"), city


def addr_ch(rng, style):
    city, plzs = rng.choice(CH_CITIES)
    line1 = f"{rng.choice(CH_STREETS)} {rng.randint(1, 140)}{rng.choice(['', '', '', 'a'])}"
    if style == "street":
        return line1, city
    return (f"{line1}\n{rng.choice(plzs)} {city}" if style == "ml" else f"{line1}, {rng.choice(plzs)} {city}"), city


def addr_fr(rng, style):
    city, cps = rng.choice(FR_CITIES)
    cp = rng.choice(cps)
    num = rng.randint(1, 150)
    bis = rng.choice([""] * 6 + [" bis", " ter", "bis"])
    street = rng.choice(FR_STREETS)
    if rng.random() < 0.3:
        street = street[0].upper() + street[1:]
    line = f"{num}{bis} {street}"
    if style == "street":
        return line, city
    n = rng.randint(1, 60)
    k = rng.randint(1, 7)
    et = "1er étage" if k == 1 else f"{k}e étage"
    pre = rng.choice([None] * 4 + [f"Bât. {rng.choice('ABCDE')}, Apt {n}", f"Appartement {n}",
                                   f"{rng.choice(FR_RESIDENCES)}, Bât. {rng.choice('ABC')}", f"Apt {n}, {et}",
                                   f"Escalier {rng.randint(1, 4)}, {et}"])
    cname = city.upper() if rng.random() < 0.35 else city
    parts = ([pre] if pre else []) + [line, f"{cp} {cname}"]
    return ("\n" if style == "ml" else ", ").join(parts), city


def addr_be(rng, style):
    city, cps = rng.choice(BE_FR_CITIES)
    line = f"{rng.choice(BE_FR_STREETS)} {rng.randint(1, 200)}"
    if rng.random() < 0.4:
        line += f" bte {rng.randint(1, 20)}"
    if style == "street":
        return line, city
    return (f"{line}\n{rng.choice(cps)} {city}" if style == "ml" else f"{line}, {rng.choice(cps)} {city}"), city


def addr_chfr(rng, style):
    city, cps = rng.choice(CHFR_CITIES)
    line = f"{rng.choice(CHFR_STREETS)} {rng.randint(1, 90)}"
    if style == "street":
        return line, city
    return (f"{line}\n{rng.choice(cps)} {city}" if style == "ml" else f"{line}, {rng.choice(cps)} {city}"), city


def addr_es(rng, style):
    city, cp, prov = rng.choice(ES_CITIES)
    cpv = fill_code(rng, cp, 5)
    typ, name = rng.choice(ES_STREETS)
    t = rng.choice(ES_ABBR[typ])
    stn = f"{t} {name}"
    num = rng.randint(1, 140)
    if rng.random() < 0.05:
        line1 = f"{stn} s/n"
    else:
        line1 = rng.choice([f"{stn}, {num}", f"{stn} {num}", f"{stn}, nº {num}", f"{stn} {num}"])
    if rng.random() < 0.6:
        line1 += ", " + rng.choice(ES_UNITS)
    if style == "street":
        return line1, city
    cityline = f"{cpv} {city}"
    if prov and rng.random() < 0.7:
        cityline += f" ({prov})"
    return (f"{line1}\n{cityline}" if style == "ml" else f"{line1}, {cityline}"), city


def addr_it(rng, style):
    city, cap, sigla = rng.choice(IT_CITIES)
    capv = fill_code(rng, cap, 5)
    if city == "Venezia" and rng.random() < 0.6:
        line1 = f"{rng.choice(VENEZIA_SESTIERI)} {rng.randint(100, 6000)}"
    else:
        st = rng.choice(IT_STREETS)
        num = rng.randint(1, 200)
        suf = rng.choice([""] * 6 + ["/A", "/B", " bis", "A"])
        line1 = rng.choice([f"{st} {num}{suf}", f"{st}, {num}{suf}", f"{st} n. {num}"])
    if rng.random() < 0.35:
        line1 += ", " + rng.choice(IT_UNITS)
    if style == "street":
        return line1, city
    cityline = rng.choice([f"{capv} {city} ({sigla})", f"{capv} {city} {sigla}", f"{capv} {city}"])
    if style == "ml":
        return f"{line1}\n{cityline}", city
    return f"{line1}{rng.choice([', ', ' - '])}{cityline}", city


def _nl_pc(rng, lo, hi):
    while True:
        ll = rng.choice(UPPER.replace("I", "").replace("Q", "")) + rng.choice(UPPER.replace("I", "").replace("Q", ""))
        if ll not in ("SA", "SD", "SS"):
            return f"{rng.randint(lo, hi)} {ll}"


def addr_nl(rng, style):
    city, lo, hi = rng.choice(NL_CITIES)
    line1 = f"{rng.choice(NL_STREETS)} {rng.randint(1, 400)}{rng.choice(NL_SUFFIX)}"
    if style == "street":
        return line1, city
    c = city.upper() if rng.random() < 0.2 else city
    sep = "  " if rng.random() < 0.25 else " "
    cityline = f"{_nl_pc(rng, lo, hi)}{sep}{c}"
    return (f"{line1}\n{cityline}" if style == "ml" else f"{line1}, {cityline}"), city


def addr_be_nl(rng, style):
    city, cps = rng.choice(BE_NL_CITIES)
    line = f"{rng.choice(BE_NL_STREETS)} {rng.randint(1, 250)}"
    if rng.random() < 0.4:
        line += f" bus {rng.randint(1, 30)}"
    if style == "street":
        return line, city
    return (f"{line}\n{rng.choice(cps)} {city}" if style == "ml" else f"{line}, {rng.choice(cps)} {city}"), city


def addr_pt(rng, style):
    city, lo, hi = rng.choice(PT_CITIES)
    cp = f"{rng.randint(lo, hi)}-{rng.randint(0, 999):03d}"
    st = rng.choice(PT_STREETS)
    if st.startswith("Avenida") and rng.random() < 0.35:
        st = "Av." + st[len("Avenida"):]
    num = rng.randint(1, 300)
    line = rng.choice([f"{st}, {num}", f"{st} {num}", f"{st}, n.º {num}"])
    if rng.random() < 0.6:
        line += ", " + rng.choice(PT_UNITS)
    if style == "street":
        return line, city
    return (f"{line}\n{cp} {city}" if style == "ml" else f"{line}, {cp} {city}"), city


def addr_br(rng, style):
    city, uf, lo, hi, bairros = rng.choice(BR_CITIES)
    cep = f"{rng.randint(lo, hi):05d}-{rng.randint(0, 999):03d}"
    st = rng.choice(BR_STREETS)
    if st.startswith("Avenida") and rng.random() < 0.4:
        st = "Av." + st[len("Avenida"):]
    line1 = f"{st}, {rng.randint(1, 3000)}"
    if rng.random() < 0.55:
        line1 += ", " + rng.choice(BR_UNITS)
    if style == "street":
        return line1, city
    b = rng.choice(bairros)
    if style == "ml":
        return rng.choice([f"{line1} - {b}\n{city} - {uf}\n{cep}", f"{line1}\n{b}\n{city}/{uf}\nCEP {cep}"]), city
    return rng.choice([f"{line1} - {b}, {city} - {uf}, {cep}", f"{line1}, {b}, {city}/{uf}, CEP {cep}"]), city


ADDRESS_FUNCS = {
    "us": addr_us, "gb": addr_gb, "ie": addr_ie, "au": addr_au, "in": addr_in, "jp": addr_jp,
    "de": addr_de, "at": addr_at, "ch": addr_ch, "fr": addr_fr, "be": addr_be, "chfr": addr_chfr,
    "es": addr_es, "it": addr_it, "nl": addr_nl, "be_nl": addr_be_nl, "pt": addr_pt, "br": addr_br,
}


def cities_for(cc):
    base = {
        "us": [c[0] for c in US_CITIES], "gb": [c[0] for c in UK_PLACES], "ie": [],
        "au": [c[0] for c in AU_PLACES], "in": [c[0] for c in IN_PLACES], "jp": [],
        "de": [c[0] for c in DE_CITIES], "at": [c[0] for c in AT_CITIES], "ch": [c[0] for c in CH_CITIES],
        "fr": [c[0] for c in FR_CITIES], "be": [c[0] for c in BE_FR_CITIES], "chfr": [c[0] for c in CHFR_CITIES],
        "es": [c[0] for c in ES_CITIES], "it": [c[0] for c in IT_CITIES], "nl": [c[0] for c in NL_CITIES],
        "be_nl": [c[0] for c in BE_NL_CITIES], "pt": [c[0] for c in PT_CITIES], "br": [c[0] for c in BR_CITIES],
    }[cc]
    return sorted(set(base + EXTRA_CITIES.get(cc, [])))


def iso_of(cc):
    return COUNTRY_ISO.get(cc, cc)


# ---------------------------------------------------------------------------
# PHONE NUMBERS
# ---------------------------------------------------------------------------

def phone(rng, cc):
    d = lambda n: digits(rng, n)
    r = rng.random
    if cc == "us":
        a = rng.choice(["212", "415", "312", "206", "512", "617", "303", "404", "305", "503", "702", "801", "919", "615", "720", "646", "718", "347", "808", "907"])
        b = rng.choice(["555", str(rng.randint(201, 989))])
        c = d(4)
        return rng.choice([f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"+1 {a} {b} {c}", f"+1-{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 ({a}) {b}-{c}"])
    if cc == "gb":
        return rng.choice([f"07{d(3)} {d(6)}", f"+44 7{d(3)} {d(6)}", f"020 7{d(3)} {d(4)}", f"+44 20 7{d(3)} {d(4)}",
                           f"0161 {d(3)} {d(4)}", f"0113 {d(3)} {d(4)}", f"0131 {d(3)} {d(4)}", f"+44 (0)117 {d(3)} {d(4)}"])
    if cc == "ie":
        return rng.choice([f"08{rng.choice('35679')} {d(3)} {d(4)}", f"+353 8{rng.choice('35679')} {d(3)} {d(4)}", f"(01) {d(3)} {d(4)}",
                           f"+353 1 {d(3)} {d(4)}", f"021 {d(3)} {d(4)}"])
    if cc == "au":
        return rng.choice([f"04{d(2)} {d(3)} {d(3)}", f"+61 4{d(2)} {d(3)} {d(3)}", f"(02) {d(4)} {d(4)}", f"+61 3 {d(4)} {d(4)}"])
    if cc == "in":
        m = rng.choice("6789") + d(4)
        return rng.choice([f"+91 {m} {d(5)}", f"0{m} {d(5)}", f"+91-80-{d(4)}-{d(4)}", f"{m}{d(5)}", f"+91 {m}{d(5)}"])
    if cc == "jp":
        return rng.choice([f"090-{d(4)}-{d(4)}", f"080-{d(4)}-{d(4)}", f"+81 90-{d(4)}-{d(4)}", f"03-{d(4)}-{d(4)}",
                           f"+81 3-{d(4)}-{d(4)}", f"06-{d(4)}-{d(4)}"])
    if cc == "de":
        mob = rng.choice(["151", "152", "160", "162", "170", "171", "172", "175", "176", "177", "179", "157"])
        area = rng.choice(["30", "40", "89", "221", "69", "711", "211", "341", "351", "911", "421", "511", "8041", "4131"])
        return rng.choice([f"0{mob} {d(8)}", f"+49 {mob} {d(8)}", f"+49 (0){mob} {d(7)}", f"0{area} {d(7)}",
                           f"0{area} / {d(6)}", f"+49 {area} {d(7)}", f"0{area}-{d(6)}-{d(2)}", f"0{mob}/{d(7)}"])
    if cc == "at":
        return rng.choice([f"+43 664 {d(7)}", f"0664 {d(3)} {d(2)} {d(2)}", f"01 {d(3)} {d(2)} {d(2)}", f"+43 1 {d(7)}",
                           f"0676 {d(7)}"])
    if cc in ("ch", "chfr"):
        return rng.choice([f"+41 79 {d(3)} {d(2)} {d(2)}", f"079 {d(3)} {d(2)} {d(2)}", f"044 {d(3)} {d(2)} {d(2)}",
                           f"+41 22 {d(3)} {d(2)} {d(2)}", f"076 {d(3)} {d(2)} {d(2)}"])
    if cc == "fr":
        g = lambda: d(2)
        m = rng.choice("67")
        fix = rng.choice("12345")
        return rng.choice([f"0{m} {g()} {g()} {g()} {g()}", f"+33 {m} {g()} {g()} {g()} {g()}", f"0{fix} {g()} {g()} {g()} {g()}",
                           f"+33 (0){fix} {g()} {g()} {g()} {g()}", f"0{m}.{g()}.{g()}.{g()}.{g()}", f"0{m}{d(8)}"])
    if cc == "be":
        return rng.choice([f"+32 4{rng.choice('789')}{d(1)} {d(2)} {d(2)} {d(2)}", f"04{rng.choice('789')}{d(1)} {d(2)} {d(2)} {d(2)}",
                           f"02 {d(3)} {d(2)} {d(2)}", f"+32 2 {d(3)} {d(2)} {d(2)}"])
    if cc == "be_nl":
        return rng.choice([f"+32 4{rng.choice('789')}{d(1)} {d(2)} {d(2)} {d(2)}", f"04{rng.choice('789')}{d(1)}/{d(2)}.{d(2)}.{d(2)}",
                           f"03 {d(3)} {d(2)} {d(2)}", f"09 {d(3)} {d(2)} {d(2)}"])
    if cc == "es":
        m = rng.choice("67") + d(2)
        f3 = rng.choice(["91", "93", "95", "96", "94", "98"])
        return rng.choice([f"{m} {d(2)} {d(2)} {d(2)}", f"+34 {m} {d(2)} {d(2)} {d(2)}", f"+34 {m}{d(6)}",
                           f"{f3} {d(3)} {d(2)} {d(2)}", f"{f3}{d(1)} {d(3)} {d(3)}", f"(+34) {f3}{d(1)} {d(3)} {d(3)}", f"{m} {d(3)} {d(3)}"])
    if cc == "it":
        m = "3" + rng.choice("234679") + d(1)
        return rng.choice([f"{m} {d(3)} {d(4)}", f"+39 {m} {d(7)}", f"+39 06 {d(4)} {d(4)}", f"02 {d(4)} {d(4)}",
                           f"0039 {m} {d(3)} {d(4)}", f"{m}-{d(7)}", f"011 {d(3)} {d(4)}", f"+39 {m} {d(3)} {d(4)}"])
    if cc == "nl":
        return rng.choice([f"06-{d(8)}", f"06 {d(2)} {d(2)} {d(2)} {d(2)}", f"+31 6 {d(8)}", f"+31 (0)6 {d(4)} {d(4)}",
                           f"020-{d(7)}", f"010 {d(3)} {d(4)}", f"+31 20 {d(3)} {d(4)}", f"030 - {d(3)} {d(2)} {d(2)}"])
    if cc == "pt":
        m = "9" + rng.choice("1236") + d(1)
        return rng.choice([f"{m} {d(3)} {d(3)}", f"+351 {m} {d(3)} {d(3)}", f"+351 21 {d(3)} {d(4)}", f"21 {d(3)} {d(4)}",
                           f"22 {d(3)} {d(4)}", f"+351{m}{d(6)}"])
    if cc == "br":
        ddd = rng.choice(["11", "21", "31", "41", "51", "61", "71", "81", "85", "48", "19"])
        return rng.choice([f"({ddd}) 9{d(4)}-{d(4)}", f"+55 {ddd} 9{d(4)}-{d(4)}", f"+55 ({ddd}) {rng.choice('234')}{d(3)}-{d(4)}",
                           f"{ddd} 9{d(4)}-{d(4)}", f"({ddd}) {rng.choice('234')}{d(3)}-{d(4)}"])
    raise KeyError(cc)


# ---------------------------------------------------------------------------
# IBAN / CARDS / SSN / IP / DATES
# ---------------------------------------------------------------------------

def _iban_numeric(s):
    out = []
    for ch in s:
        out.append(str(int(ch, 36)) if ch.isalpha() else ch)
    return "".join(out)


def iban_valid(s):
    s = s.replace(" ", "")
    r = s[4:] + s[:4]
    return int(_iban_numeric(r)) % 97 == 1


def iban(rng, cc):
    cc = {"gb": "GB", "ie": "IE", "de": "DE", "at": "AT", "ch": "CH", "chfr": "CH", "fr": "FR", "be": "BE", "be_nl": "BE",
          "es": "ES", "it": "IT", "nl": "NL", "pt": "PT", "br": "BR"}.get(cc, "GB")
    d = lambda n: digits(rng, n)
    bban = {
        "DE": lambda: d(18), "AT": lambda: d(16), "CH": lambda: d(17), "BE": lambda: d(12), "ES": lambda: d(20),
        "FR": lambda: d(10) + rstr(rng, DIGITS + UPPER, 11) + d(2),
        "IT": lambda: rng.choice(UPPER) + d(10) + rstr(rng, DIGITS, 12),
        "NL": lambda: rng.choice(["ABNA", "RABO", "INGB", "TRIO", "SNSB", "ASNB", "KNAB", "BUNQ"]) + d(10),
        "PT": lambda: rng.choice(["0007", "0033", "0035", "0010", "0036", "0018"]) + d(17),
        "GB": lambda: rng.choice(["NWBK", "BARC", "LOYD", "HBUK", "MIDL"]) + d(14),
        "IE": lambda: rng.choice(["AIBK", "BOFI"]) + d(14),
        "BR": lambda: d(23) + rng.choice("CP") + rng.choice("1" + UPPER[:3]),
    }[cc]()
    check = 98 - int(_iban_numeric(bban + cc + "00")) % 97
    s = f"{cc}{check:02d}{bban}"
    assert iban_valid(s)
    if rng.random() < 0.65:
        s = " ".join(s[i:i + 4] for i in range(0, len(s), 4))
    return s


def luhn_ok(num):
    num = [int(c) for c in num if c.isdigit()]
    tot = 0
    for i, dgt in enumerate(reversed(num)):
        if i % 2 == 1:
            dgt *= 2
            if dgt > 9:
                dgt -= 9
        tot += dgt
    return tot % 10 == 0


def _luhn_complete(rng, prefix, length):
    body = prefix + digits(rng, length - len(prefix) - 1)
    tot = 0
    for i, ch in enumerate(reversed(body)):
        dgt = int(ch)
        if i % 2 == 0:
            dgt *= 2
            if dgt > 9:
                dgt -= 9
        tot += dgt
    return body + str((10 - tot % 10) % 10)


def credit_card(rng):
    kind = rng.choice(["visa", "visa", "mc", "mc", "amex"])
    if kind == "visa":
        n = _luhn_complete(rng, "4" + digits(rng, 5), 16)
    elif kind == "mc":
        n = _luhn_complete(rng, rng.choice(["51", "52", "53", "54", "55", "2221", "2720"]) + digits(rng, 2), 16)
    else:
        n = _luhn_complete(rng, rng.choice(["34", "37"]), 15)
    assert luhn_ok(n)
    sep = rng.choice([" ", " ", "-", ""])
    if len(n) == 15:
        return sep.join([n[:4], n[4:10], n[10:]])
    return sep.join(n[i:i + 4] for i in range(0, 16, 4))


def ssn(rng):
    while True:
        a = rng.randint(1, 899)
        if a != 666:
            break
    return f"{a:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def ssn_valid(s):
    try:
        a, g, n = s.split("-")
    except ValueError:
        return False
    if not (len(a) == 3 and len(g) == 2 and len(n) == 4 and (a + g + n).isdigit()):
        return False
    a, g, n = int(a), int(g), int(n)
    return 0 < a < 900 and a != 666 and g > 0 and n > 0


PUBLIC_FIRST_OCTETS = [23, 31, 37, 46, 62, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91, 93, 94, 95, 109,
                       141, 151, 176, 178, 185, 188, 193, 194, 195, 212, 213, 217, 2, 5, 24, 45, 66, 73, 98, 104, 177, 187, 201]


def ip_public(rng):
    return f"{rng.choice(PUBLIC_FIRST_OCTETS)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def ip_private(rng):
    return rng.choice([f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                       f"192.168.{rng.randint(0, 20)}.{rng.randint(2, 254)}",
                       f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"])


def ipv6(rng):
    pre = rng.choice(["2a02:8108", "2001:16b8", "2a01:c22", "2003:e4", "2a00:23c7", "2600:1700", "2804:14c", "2001:818"])
    return pre + ":" + ":".join(format(rng.randint(0, 0xffff), "x") for _ in range(6))


MONTHS = {
    "en": L("January, February, March, April, May, June, July, August, September, October, November, December"),
    "de": L("Januar, Februar, März, April, Mai, Juni, Juli, August, September, Oktober, November, Dezember"),
    "fr": L("janvier, février, mars, avril, mai, juin, juillet, août, septembre, octobre, novembre, décembre"),
    "es": L("enero, febrero, marzo, abril, mayo, junio, julio, agosto, septiembre, octubre, noviembre, diciembre"),
    "it": L("gennaio, febbraio, marzo, aprile, maggio, giugno, luglio, agosto, settembre, ottobre, novembre, dicembre"),
    "nl": L("januari, februari, maart, april, mei, juni, juli, augustus, september, oktober, november, december"),
    "pt": L("janeiro, fevereiro, março, abril, maio, junho, julho, agosto, setembro, outubro, novembro, dezembro"),
}
WEEKDAYS = {
    "en": L("Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday"),
    "de": L("Montag, Dienstag, Mittwoch, Donnerstag, Freitag, Samstag, Sonntag"),
    "fr": L("lundi, mardi, mercredi, jeudi, vendredi, samedi, dimanche"),
    "es": L("lunes, martes, miércoles, jueves, viernes, sábado, domingo"),
    "it": L("lunedì, martedì, mercoledì, giovedì, venerdì, sabato, domenica"),
    "nl": L("maandag, dinsdag, woensdag, donderdag, vrijdag, zaterdag, zondag"),
    "pt": L("segunda-feira, terça-feira, quarta-feira, quinta-feira, sexta-feira, sábado, domingo"),
}
EN_MON_ABBR = L("Jan, Feb, Mar, Apr, May, Jun, Jul, Aug, Sep, Oct, Nov, Dec")
EN_WD_ABBR = L("Mon, Tue, Wed, Thu, Fri, Sat, Sun")


def format_date(rng, lang, y, m, d, style, us=None):
    import datetime
    mn = MONTHS[lang][m - 1]
    wd = WEEKDAYS[lang][datetime.date(y, m, d).weekday()]
    if style == "num":
        if lang == "en":
            if us is None:
                us = rng.random() < 0.5
            return f"{m:02d}/{d:02d}/{y}" if us else f"{d:02d}/{m:02d}/{y}"
        if lang == "de":
            return rng.choice([f"{d:02d}.{m:02d}.{y}", f"{d}.{m}.{y}"])
        if lang == "nl":
            return rng.choice([f"{d:02d}-{m:02d}-{y}", f"{d}-{m}-{y}"])
        return f"{d:02d}/{m:02d}/{y}"
    if style == "long":
        return {
            "en": rng.choice([f"{d} {mn} {y}", f"{mn} {d}, {y}"]), "de": f"{d}. {mn} {y}", "fr": f"{d} {mn} {y}",
            "es": f"{d} de {mn} de {y}", "it": f"{d} {mn} {y}", "nl": f"{d} {mn} {y}", "pt": f"{d} de {mn} de {y}",
        }[lang]
    if style == "wd":
        return {
            "en": rng.choice([f"{wd}, {d} {mn}", f"{wd}, {mn} {d}"]), "de": f"{wd}, {d}. {mn}", "fr": f"{wd} {d} {mn}",
            "es": f"{wd} {d} de {mn}", "it": f"{wd} {d} {mn}", "nl": f"{wd} {d} {mn}", "pt": f"{wd}, {d} de {mn}",
        }[lang]
    if style == "short":
        return {"en": rng.choice([f"{mn} {d}", f"{d} {mn}"]), "de": f"{d}. {mn}", "fr": f"{d} {mn}",
                "es": f"{d} de {mn}", "it": f"{d} {mn}", "nl": f"{d} {mn}", "pt": f"{d} de {mn}"}[lang]
    if style == "iso":
        return f"{y}-{m:02d}-{d:02d}"
    if style == "rfc":
        return f"{EN_WD_ABBR[datetime.date(y, m, d).weekday()]}, {d} {EN_MON_ABBR[m - 1]} {y} {rng.randint(7, 19):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} {rng.choice(['+0000', '+0100', '+0200', '-0500', '+0530'])}"
    if style == "syslog":
        return f"{EN_MON_ABBR[m - 1]} {d:2d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    if style == "clf":
        return f"{d:02d}/{EN_MON_ABBR[m - 1]}/{y}:{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} {rng.choice(['+0000', '+0100', '+0200'])}"
    if style == "git":
        return f"{EN_WD_ABBR[datetime.date(y, m, d).weekday()]} {EN_MON_ABBR[m - 1]} {d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} {y} {rng.choice(['+0100', '+0200', '-0400', '+0000'])}"
    if style == "ts":
        return rng.choice([f"{y}-{m:02d}-{d:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z",
                           f"{y}-{m:02d}-{d:02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
                           f"{y}-{m:02d}-{d:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}+01:00"])
    raise KeyError(style)


def random_ymd(rng, y0, y1):
    y = rng.randint(y0, y1)
    m = rng.randint(1, 12)
    d = rng.randint(1, 28)
    return y, m, d


def dob(rng, lang):
    y, m, d = random_ymd(rng, 1941, 2005)
    return format_date(rng, lang, y, m, d, rng.choice(["num", "num", "long", "iso"] if lang == "en" else ["num", "num", "long"]))


# ---------------------------------------------------------------------------
# E-MAIL ADDRESSES AND PROFILE URLS FOR PERSONS
# ---------------------------------------------------------------------------

def email_for(rng, given, family, lang, company=False):
    g = slug(given.split()[0])
    f = slug(family)
    fl = slug(family.split()[-1])
    y = str(rng.randint(60, 99)) if rng.random() < 0.5 else str(rng.randint(1970, 2004))
    local = rng.choice([f"{g}.{f}", f"{g}.{fl}", f"{g[0]}.{fl}", f"{g}{fl}", f"{fl}.{g}", f"{g}_{fl}", f"{g}{y}", f"{g[0]}{fl}",
                        f"{g}.{fl}{rng.randint(1, 99)}"])
    if company:
        dom = rng.choice(COMPANY_DOMAINS[lang])
        local = rng.choice([f"{g}.{fl}", f"{g[0]}.{fl}", f"{g[0]}{fl}", f"{g}"])
    else:
        dom = rng.choice(EMAIL_DOMAINS[lang])
    return f"{local}@{dom}"


def profile_url(rng, given, family, lang):
    g = slug(given.split()[0], "-")
    f = slug(family, "-")
    r = rng.random()
    if lang == "de" and r < 0.3:
        return f"https://www.xing.com/profile/{ascii_fold(given.split()[0])}_{ascii_fold(family).replace(' ', '')}"
    if r < 0.65:
        return f"https://www.linkedin.com/in/{g}-{f}-{rstr(rng, HEX, rng.choice([6, 8, 9]))}"
    if r < 0.85:
        return f"https://github.com/{g}{slug(family)[:6]}"
    return f"https://www.instagram.com/{g}.{slug(family)}/"


# ---------------------------------------------------------------------------
# SECRETS (fake, random characters in the vendors' documented shapes)
# ---------------------------------------------------------------------------

def _b64(rng, nbytes):
    return base64.b64encode(bytes(rng.getrandbits(8) for _ in range(nbytes))).decode()


def _b64url_nopad(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def aws_access_key_id(rng, temp=False):
    return ("ASIA" if temp else "AKIA") + rstr(rng, B32, 16)


def aws_secret_access_key(rng):
    return rstr(rng, B62 + "/+", 40)


def gcp_api_key(rng):
    return "AIzaSy" + rstr(rng, B64URL, 33)


def azure_storage_conn(rng):
    acct = rng.choice(["st", "sa", "stor", ""]) + rng.choice(["shop", "invoices", "media", "backup", "logs", "data"]) + rng.choice(["prod", "dev", "weu", "01", "neu"]) + digits(rng, rng.randint(0, 3))
    key = _b64(rng, 64)
    s = f"DefaultEndpointsProtocol=https;AccountName={acct};AccountKey={key};EndpointSuffix=core.windows.net"
    return s


def azure_servicebus_conn(rng):
    ns = rng.choice(["sb-orders", "contoso-bus", "events-prod", "sb-payments-weu", "notify-dev"]) + digits(rng, rng.randint(0, 2))
    keyname = rng.choice(["RootManageSharedAccessKey", "RootManageSharedAccessKey", "listen-send", "sender"])
    s = f"Endpoint=sb://{ns}.servicebus.windows.net/;SharedAccessKeyName={keyname};SharedAccessKey={_b64(rng, 32)}"
    if rng.random() < 0.3:
        s += f";EntityPath={rng.choice(['orders', 'invoices', 'email-outbox'])}"
    return s


def github_token(rng, prefix=None):
    prefix = prefix or rng.choice(["ghp_", "ghp_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_"])
    return prefix + rstr(rng, B62, 36)


def github_fine_grained(rng):
    return "github_pat_" + rstr(rng, UPPER + DIGITS, 1) + rstr(rng, B62, 21) + "_" + rstr(rng, B62, 59)


def gitlab_token(rng):
    return "glpat-" + rstr(rng, B62 + "-_", 20)


def slack_bot(rng):
    return f"xoxb-{digits(rng, rng.choice([11, 12, 13]))}-{digits(rng, 13)}-{rstr(rng, B62, 24)}"


def slack_user(rng):
    return f"xoxp-{digits(rng, 11)}-{digits(rng, 11)}-{digits(rng, 13)}-{rstr(rng, HEX, 32)}"


def slack_app(rng):
    return f"xapp-1-A{rstr(rng, UPPER + DIGITS, 10)}-{digits(rng, 13)}-{rstr(rng, HEX, 64)}"


def slack_webhook(rng):
    return f"https://hooks.slack.com/services/T{rstr(rng, UPPER + DIGITS, rng.choice([8, 9, 10]))}/B{rstr(rng, UPPER + DIGITS, rng.choice([8, 10]))}/{rstr(rng, B62, 24)}"


def _stripe_body(rng):
    return ("51" + rstr(rng, B62, 97)) if rng.random() < 0.6 else rstr(rng, B62, 24)


def stripe_secret(rng, mode=None):
    mode = mode or rng.choice(["sk_live_", "sk_live_", "sk_test_", "rk_live_"])
    return mode + _stripe_body(rng)


def stripe_publishable(rng):
    return rng.choice(["pk_live_", "pk_test_"]) + _stripe_body(rng)


def stripe_whsec(rng):
    return "whsec_" + rstr(rng, B62, 32)


def openai_project_key(rng):
    return "sk-proj-" + rstr(rng, B64URL, 74) + "T3BlbkFJ" + rstr(rng, B64URL, 74)


def openai_legacy_key(rng):
    return "sk-" + rstr(rng, B62, 20) + "T3BlbkFJ" + rstr(rng, B62, 20)


def anthropic_key(rng):
    return "sk-ant-api03-" + rstr(rng, B64URL, 93) + "AA"


def _wrap(s, n):
    return "\n".join(s[i:i + n] for i in range(0, len(s), n))


def _rand_bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def pem_rsa(rng):
    body = bytes.fromhex("308204a40201000282010100") + _rand_bytes(rng, 1180)
    return "-----BEGIN RSA PRIVATE KEY-----\n" + _wrap(base64.b64encode(body).decode(), 64) + "\n-----END RSA PRIVATE KEY-----"


def pem_pkcs8(rng, nbytes=1206):
    body = bytes.fromhex("308204be020100300d06092a864886f70d0101010500048204a8") + _rand_bytes(rng, nbytes)
    return "-----BEGIN PRIVATE KEY-----\n" + _wrap(base64.b64encode(body).decode(), 64) + "\n-----END PRIVATE KEY-----"


def pem_ec(rng):
    body = bytes.fromhex("30770201010420") + _rand_bytes(rng, 32) + bytes.fromhex("a00a06082a8648ce3d030107a144034200") + b"\x04" + _rand_bytes(rng, 64)
    return "-----BEGIN EC PRIVATE KEY-----\n" + _wrap(base64.b64encode(body).decode(), 64) + "\n-----END EC PRIVATE KEY-----"


def pem_openssh(rng):
    head = b"openssh-key-v1\x00" + b"\x00\x00\x00\x04none\x00\x00\x00\x04none\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x33\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20"
    body = head + _rand_bytes(rng, 32 + 4 + 4 + 4 + 4 + 11 + 4 + 32 + 4 + 64 + 4 + 20 + 7 + 8)
    return "-----BEGIN OPENSSH PRIVATE KEY-----\n" + _wrap(base64.b64encode(body).decode(), 70) + "\n-----END OPENSSH PRIVATE KEY-----"


def pem_json_escaped(rng):
    """PKCS#8 key as it appears inside a JSON string: literal backslash-n."""
    return pem_pkcs8(rng).replace("\n", "\\n")


def jwt(rng):
    alg = rng.choice(["HS256", "HS256", "RS256", "ES256"])
    hdr = {"alg": alg, "typ": "JWT"}
    if alg != "HS256" and rng.random() < 0.7:
        hdr["kid"] = rstr(rng, B64URL, 22)
    iat = rng.randint(1700000000, 1760000000)
    payload = {"sub": rng.choice([str(rng.randint(10000, 9999999)), "usr_" + rstr(rng, B62, 14), "auth0|" + rstr(rng, HEX, 24)]),
               "iat": iat, "exp": iat + rng.choice([900, 3600, 86400])}
    if rng.random() < 0.6:
        payload["scope"] = rng.choice(["read:orders write:orders", "openid profile", "admin", "api:read"])
    if rng.random() < 0.5:
        payload["iss"] = rng.choice(["https://auth.shop-backend.io/", "https://login.internal.example.net", "api-gateway"])
    h = _b64url_nopad(json.dumps(hdr, separators=(",", ":")).encode())
    p = _b64url_nopad(json.dumps(payload, separators=(",", ":")).encode())
    siglen = {"HS256": 43, "RS256": 342, "ES256": 86}[alg]
    return f"{h}.{p}.{rstr(rng, B64URL, siglen)}"


PW_WORDS = L("""Summer, Winter, Sommer, Sonne, Kaffee, Coffee, Monkey, Dragon, Sunshine, Football, Fussball,
Bonjour, Soleil, Chocolat, Verano, Invierno, Primavera, Estate, Calcio, Tulpen, Fiets, Saudade, Futebol,
Password, Passwort, Welcome, Willkommen, Bienvenue, Ciao, Hallo, Admin, Qwertz, Azerty, Letmein, Tigger,
Shadow, Pizza, Gelato, Paella, Stroopwafel, Bacalhau, Hunter, Banana, Rainbow, Company, Spring, Herbst,
Autumn, Oktober, Christmas, Natale, Navidad, Kerstmis""")
PW_SYMBOLS = "!#$%&*?@+-_."


def password_human(rng):
    while True:
        w = rng.choice(PW_WORDS)
        r = rng.random()
        if r < 0.45:
            p = w + str(rng.choice([rng.randint(1, 99), rng.randint(2018, 2026)])) + rng.choice(["!", "!", "#", "?", "$", "", "*"])
        elif r < 0.65:
            p = w.replace("a", "@").replace("o", "0").replace("e", "3").replace("s", "$") + str(rng.randint(1, 99))
        elif r < 0.8:
            p = w.lower() + rng.choice(["123", "1234", "2024", "!", "01"]) + rng.choice(["", "!"])
        else:
            p = w + rng.choice(PW_SYMBOLS) + w.lower()[:3] + str(rng.randint(0, 9))
        if 8 <= len(p) <= 12:
            return p


def password_random(rng, n=None, safe=False):
    n = n or rng.randint(12, 24)
    alpha = B62 + ("-_." if safe else "!$%^&*_-+=.?@")
    while True:
        p = rstr(rng, alpha, n)
        if any(c.isdigit() for c in p) and any(c.isupper() for c in p) and p[0] not in "-":
            return p


def password(rng, safe=False):
    return password_human(rng) if (rng.random() < 0.45 and not safe) else password_random(rng, safe=safe)


def password_url(rng):
    if rng.random() < 0.3:
        while True:
            p = password_human(rng)
            if all(c in B62 + "-_." for c in p):
                return p
    return password_random(rng, rng.randint(12, 28), safe=True)


DB_USERS = L("app, admin, postgres, root, svc_orders, shop_rw, analytics, django, api_user, etl, readonly, backend, wpuser, keycloak")
DB_NAMES = L("shop, orders, production, app_db, crm, billing, analytics, wordpress, inventory, users, payments, keycloak, metabase")


def db_host(rng):
    return rng.choice([
        "localhost", "db", "postgres", "db.internal", "pg-primary.prod.svc.cluster.local",
        f"prod-db-{rng.randint(1, 3):02d}.c{rstr(rng, LOWER + DIGITS, 10)}.eu-central-1.rds.amazonaws.com",
        f"{rng.choice(['orders', 'crm', 'billing'])}-db.{rng.choice(['staging', 'prod'])}.internal",
        "mysql.hostinger.local", f"10-{rng.randint(0, 9)}-db.lan", "database-1.eu-west-1.rds.amazonaws.com",
    ])


def db_connection_string(rng, kind=None):
    kind = kind or rng.choice(["pg", "pg", "mysql", "mongo", "redis", "jdbc", "ado"])
    u, db, pw = rng.choice(DB_USERS), rng.choice(DB_NAMES), password_url(rng)
    h = db_host(rng)
    if kind == "pg":
        s = f"{rng.choice(['postgres', 'postgresql'])}://{u}:{pw}@{h}:{rng.choice([5432, 5432, 6432, 5433])}/{db}"
        if rng.random() < 0.3:
            s += "?sslmode=require"
        return s
    if kind == "mysql":
        return f"{rng.choice(['mysql', 'mysql', 'mysql+pymysql', 'mariadb'])}://{u}:{pw}@{h}:3306/{db}"
    if kind == "mongo":
        return f"mongodb+srv://{u}:{pw}@cluster0.{rstr(rng, LOWER + DIGITS, 5)}.mongodb.net/{db}?retryWrites=true&w=majority"
    if kind == "redis":
        return rng.choice([f"redis://:{pw}@{rng.choice(['redis', 'cache.internal', 'localhost'])}:6379/{rng.randint(0, 3)}",
                           f"rediss://default:{pw}@redis-{rng.randint(10000, 19999)}.c{rng.randint(1, 300)}.eu-west-1-2.ec2.cloud.redislabs.com:{rng.randint(10000, 19999)}",
                           f"redis://default:{pw}@{h}:6379"])
    if kind == "jdbc":
        return rng.choice([f"jdbc:postgresql://{h}:5432/{db}?user={u}&password={pw}&ssl=true",
                           f"jdbc:mysql://{h}:3306/{db}?user={u}&password={pw}&useSSL=false",
                           f"jdbc:sqlserver://{h}:1433;databaseName={db};user={u};password={pw};encrypt=true"])
    if kind == "ado":
        srv = rng.choice(["sqlprod01", "sql-crm-weu", "shopdb"]) + digits(rng, rng.randint(0, 2))
        return rng.choice([
            f"Server=tcp:{srv}.database.windows.net,1433;Initial Catalog={db};Persist Security Info=False;User ID={u};Password={pw};MultipleActiveResultSets=False;Encrypt=True;TrustServerCertificate=False;Connection Timeout=30;",
            f"Server={srv};Database={db};User Id={u};Password={pw};",
            f"Data Source={srv}.corp.local;Initial Catalog={db};User ID={u};Password={pw};TrustServerCertificate=True",
        ])
    raise KeyError(kind)


def generic_secret(rng):
    r = rng.random()
    if r < 0.35:
        return rstr(rng, HEX, rng.choice([32, 40, 64]))
    if r < 0.75:
        return rstr(rng, B62, rng.choice([32, 40, 48]))
    return rstr(rng, B64URL, rng.choice([43, 32]))


def django_secret_key(rng):
    return "django-insecure-" + rstr(rng, LOWER + DIGITS + "!@#$%^&*(-_=+)", 50) if rng.random() < 0.4 else rstr(rng, LOWER + DIGITS + "!@#$%^&*(-_=+)", 50)


# ---------------------------------------------------------------------------
# DECOYS
# ---------------------------------------------------------------------------

PRODUCTS = L("""Microsoft Teams, Outlook, Excel, SharePoint, Jira, Confluence, Salesforce, SAP S/4HANA, Zendesk,
HubSpot, Kubernetes, Grafana, PostgreSQL, Docker Desktop, Visual Studio Code, IntelliJ IDEA, Figma, Notion,
Trello, Asana, Zoom, Google Meet, Dropbox, OneDrive, Windows 11, macOS Sonoma, Android 14, Firefox, Chrome,
Photoshop, Lightroom, AutoCAD, Tableau, Power BI, DATEV, Lexware, Sage 50, Holded, Moneybird, Exact Online,
Fatture in Cloud, ServiceNow, Workday, Personio, Miro, GitLab CI, Terraform, Ansible, Okta, 1Password""")
MODELS = L("""XPS 13 9340, SM-S918B, iPhone 15 Pro, MacBook Air M2, ThinkPad T14s Gen 4, WH-1000XM5, EOS R6 Mark II,
Miele WWD 320, Bosch WAN28K40, Dyson V15, PIXMA TS5350, LaserJet Pro M404dn, HL-L2350DW, FRITZ!Box 7590,
Galaxy Tab S9, Surface Pro 9, EliteBook 840 G10, Latitude 5440, Pixel 8, Kindle Paperwhite, Siemens iQ500,
Nespresso Vertuo Next, Thermomix TM6, Roomba j7+, MX Master 3S, UltraSharp U2723QE, Yoga Slim 7""")
ORGS = L("""Deutsche Bahn, Deutsche Telekom, Stadtwerke München, Siemens, Bosch, Zalando, SNCF, La Poste, Orange,
Crédit Agricole, Banco Santander, Iberdrola, Mercadona, Telefónica, Enel, Poste Italiane, Intesa Sanpaolo,
Trenitalia, PostNL, ING, Rabobank, bol.com, Albert Heijn, CTT, Millennium bcp, Nubank, Magazine Luiza,
Correios, Amazon, DHL, UPS, FedEx, Royal Mail, Tesco, Infosys, Tata Consultancy Services, Johnson & Johnson,
Marks & Spencer, Morgan Stanley, Ford, Dell, McDonald's, Philips, Ferrero, Barilla, El Corte Inglés,
Carrefour, Decathlon, Lidl, Aldi Süd, Rewe, Edeka, dm-drogerie markt, Booking.com, Ryanair, Lufthansa, KLM,
Air France, TAP Air Portugal, Iberia, ITA Airways, Acme Corp, Globex, Initech, Hooli, Vodafone, Allianz,
AXA, Generali, Mapfre, Bank of Ireland, Wells Fargo, Stripe, Atlassian, GitHub, Continental, Heineken""")
AIRLINES = L("LH, BA, AF, IB, AZ, KL, TP, FR, U2, VY, LX, OS, SN, EI, QF, AI, NH, UA, DL, AA, EW, HV, UX")
DOC_URLS = L("""https://docs.python.org/3/library/json.html, https://status.atlassian.com, https://kubernetes.io/docs/concepts/configuration/secret/,
https://www.postgresql.org/docs/16/libpq-connect.html, https://help.example-shop.com/returns, https://stripe.com/docs/keys,
https://docs.docker.com/compose/environment-variables/, https://www.bahn.de/service/fahrplaene, https://learn.microsoft.com/azure/storage/,
https://cloud.google.com/docs/authentication, https://www.ryanair.com/gb/en/check-in, https://support.apple.com/kb/HT201222""")


def ean13(rng):
    body = rng.choice(["400", "401", "590", "841", "800", "871", "560", "789", "500", "300"]) + digits(rng, 9)
    tot = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
    return body + str((10 - tot % 10) % 10)


def isbn13(rng):
    grp = rng.choice(["3", "2", "84", "88", "90", "972", "0", "1", "85"])
    body = "978" + grp + digits(rng, 9 - len(grp))
    tot = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
    chk = str((10 - tot % 10) % 10)
    rest = body[3 + len(grp):]
    cut = rng.randint(2, 4)
    return f"978-{grp}-{rest[:cut]}-{rest[cut:]}-{chk}"


def s10(rng, cc):
    n = digits(rng, 8)
    w = [8, 6, 4, 2, 3, 5, 9, 7]
    c = 11 - sum(int(a) * b for a, b in zip(n, w)) % 11
    c = 0 if c == 10 else (5 if c == 11 else c)
    return f"{rng.choice(['RR', 'RA', 'LX', 'CP', 'EE', 'RX', 'LY'])}{n}{c}{cc}"


def tracking(rng, kind=None, lang="en"):
    kind = kind or rng.choice(["ups", "dhl", "jd", "usps", "s10", "postnl", "gls", "dhlx"])
    if kind == "ups":
        return "1Z" + rstr(rng, UPPER + DIGITS, 6) + digits(rng, 10)
    if kind == "dhl":
        return "00340434" + digits(rng, 12)
    if kind == "jd":
        return "JD" + digits(rng, 18)
    if kind == "usps":
        s = "9400" + digits(rng, 18)
        return " ".join(s[i:i + 4] for i in range(0, 22, 4))
    if kind == "s10":
        return s10(rng, rng.choice(["DE", "FR", "ES", "IT", "NL", "PT", "GB", "BR", "US"]))
    if kind == "postnl":
        return "3S" + rstr(rng, UPPER, 4) + digits(rng, 9)
    if kind == "gls":
        return digits(rng, 11)
    if kind == "dhlx":
        return digits(rng, 10)
    raise KeyError(kind)


def part_number(rng, shape=None, lang="en"):
    shape = shape or rng.choice(["ssn", "phone", "plain", "plain"])
    if shape == "ssn":
        return ssn(rng) if rng.random() < 0.7 else f"{rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
    if shape == "phone":
        d = lambda n: digits(rng, n)
        return {
            "en": rng.choice([f"{rng.randint(200, 989)}-{d(3)}-{d(4)}", f"({rng.randint(200, 989)}) {d(3)}-{d(4)}"]),
            "de": rng.choice([f"0{rng.randint(150, 179)}-{d(7)}", f"0{rng.randint(30, 99)} {d(7)}"]),
            "fr": f"0{rng.randint(1, 7)} {d(2)} {d(2)} {d(2)} {d(2)}",
            "es": f"{rng.choice('69')}{d(2)} {d(3)} {d(3)}",
            "it": f"3{d(2)} {d(3)} {d(4)}",
            "nl": f"06-{d(8)}",
            "pt": f"9{d(2)} {d(3)} {d(3)}",
        }[lang]
    return rng.choice([f"{rstr(rng, UPPER, 2)}-{digits(rng, 4)}-{digits(rng, 2)}", f"{digits(rng, 4)}-{digits(rng, 3)}-{digits(rng, 3)}",
                       f"{rstr(rng, UPPER, 1)}{digits(rng, 5)}{rstr(rng, UPPER, 1)}", f"{digits(rng, 3)}.{digits(rng, 3)}.{digits(rng, 2)}"])


def amount(rng, lang, bare=False):
    v = rng.choice([rng.randint(5, 99) + rng.choice([0, 0.5, 0.9, 0.99, 0.95, 0.49]), rng.randint(100, 999) + rng.choice([0, 0.9, 0.5]),
                    rng.randint(1000, 25000) + rng.choice([0, 0.0, 0.5])])
    whole = int(v)
    cents = int(round((v - whole) * 100))

    def grp(n, sep):
        s = str(n)
        out = []
        while len(s) > 3:
            out.insert(0, s[-3:])
            s = s[:-3]
        out.insert(0, s)
        return sep.join(out)
    en = f"{grp(whole, ',')}.{cents:02d}"
    eu = f"{grp(whole, '.')},{cents:02d}"
    if bare:
        return f"{whole}.{cents:02d}" if lang == "en" else f"{whole},{cents:02d}"
    if lang == "en":
        return rng.choice([f"${en}", f"£{en}", f"USD {en}", f"€{en}", f"${grp(whole, ',')}", f"A${en}", f"₹{grp(whole, ',')}", f"£{grp(whole, ',')}"])
    if lang == "de":
        return rng.choice([f"{eu} €", f"€ {eu}", f"EUR {eu}", f"{eu} EUR", f"CHF {grp(whole, chr(39))}.{cents:02d}", f"{grp(whole, '.')},- €"])
    if lang == "fr":
        fr = f"{grp(whole, rng.choice([' ', chr(160), chr(8239)]))},{cents:02d}"
        return rng.choice([f"{fr} €", f"{fr} EUR", f"{fr}€", f"{grp(whole, ' ')} euros"])
    if lang == "es":
        return rng.choice([f"{eu} €", f"{eu}€", f"{grp(whole, '.')} euros", f"EUR {eu}"])
    if lang == "it":
        return rng.choice([f"€ {eu}", f"{eu} euro", f"EUR {eu}", f"€{eu}"])
    if lang == "nl":
        return rng.choice([f"€ {eu}", f"€{eu}", f"€ {grp(whole, '.')},-", f"EUR {eu}"])
    if lang == "pt":
        return rng.choice([f"{eu} €", f"R$ {eu}", f"R$ {eu}", f"{eu} euros", f"€ {eu}"])
    raise KeyError(lang)


QTY = {
    "en": ["{n} units", "{n} pcs", "{n} x", "{n} boxes", "{n} seats", "{n} licences", "{n} kg", "{n} pallets"],
    "de": ["{n} Stück", "{n} Stk.", "{n} Kartons", "{n} Paletten", "{n} kg", "{n} Lizenzen", "{n} x"],
    "fr": ["{n} pièces", "{n} unités", "{n} cartons", "{n} palettes", "{n} kg", "{n} licences"],
    "es": ["{n} unidades", "{n} uds.", "{n} cajas", "{n} palés", "{n} kg", "{n} licencias"],
    "it": ["{n} pezzi", "{n} pz.", "{n} colli", "{n} bancali", "{n} kg", "{n} licenze"],
    "nl": ["{n} stuks", "{n} st.", "{n} dozen", "{n} pallets", "{n} kg", "{n} licenties"],
    "pt": ["{n} unidades", "{n} un.", "{n} caixas", "{n} paletes", "{n} kg", "{n} licenças"],
}

ROOMS = {
    "en": ["Room {a}.{b}", "Conference Room {L}", "room {n}", "Meeting Room {L}{b}", "Boardroom {n}"],
    "de": ["Raum {a}.{b}", "Besprechungsraum {n}", "Raum {L}{n}", "Konferenzraum {L}"],
    "fr": ["salle {n}", "Salle {L}{b}", "salle de réunion {n}", "bureau {a}{b}"],
    "es": ["sala {n}", "Sala {L}{b}", "sala de reuniones {n}", "despacho {a}{b}"],
    "it": ["sala riunioni {n}", "Sala {L}", "aula {n}", "stanza {a}{b}"],
    "nl": ["zaal {a}.{b}", "vergaderruimte {n}", "Zaal {L}", "kamer {a}.{b}"],
    "pt": ["sala {n}", "Sala {L}{b}", "sala de reuniões {n}", "gabinete {a}{b}"],
}
VERSION_STYLES = ["v{a}.{b}.{c}", "{a}.{b}.{c}", "{a}.{b}.{c}-rc.{d}", "v{a}.{b}", "{a}.{b}.{c}-beta.{d}", "{a}.{b}.{c}.{e}"]


def version(rng):
    return rng.choice(VERSION_STYLES).format(a=rng.randint(0, 24), b=rng.randint(0, 30), c=rng.randint(0, 40), d=rng.randint(1, 5), e=rng.randint(1000, 9999))


def uuid4(rng):
    h = rstr(rng, HEX, 32)
    h = h[:12] + "4" + h[13:16] + rng.choice("89ab") + h[17:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def decoy(rng, kind, lang, arg=None):
    """Return (text, decoy_kind)."""
    d = lambda n: digits(rng, n)
    y = rng.choice([2024, 2025, 2025, 2026])
    if kind == "order":
        return rng.choice([f"ORD-{y}-{d(6)}", f"#{rng.randint(1000000, 9999999)}", f"{d(3)}-{d(7)}-{d(7)}", f"SO-{d(8)}",
                           f"A-{d(7)}", f"{rstr(rng, UPPER, 2)}-{y}{d(4)}-{d(4)}", f"{d(10)}", f"WEB{d(9)}"]), "order_number"
    if kind == "invoice":
        return rng.choice([f"INV-{y}-{d(5)}", f"RE-{y}-{d(4)}", f"FA-{y}-{d(5)}", f"F{y}/{d(4)}", f"FT {y}/{d(4)}",
                           f"{y}/FAC/{d(5)}", f"RG-{y}{d(4)}-{d(2)}", f"NF-e {d(3)}.{d(3)}.{d(3)}", f"{d(2)}{y}{d(6)}"]), "invoice_number"
    if kind == "ticket":
        a = arg or rng.choice(["inc", "jira", "case", "hash", "req"])
        if a == "inc":
            return f"INC{d(7)}", "ticket_id"
        if a == "jira":
            return f"{rng.choice(['OPS', 'PAY', 'CRM', 'WEB', 'INFRA', 'DATA', 'SUP', 'JIRA', 'BE', 'APP'])}-{rng.randint(10, 9999)}", "ticket_id"
        if a == "case":
            return rng.choice([f"CS-{d(6)}", f"CASE-{d(9)}", f"SR-{d(1)}-{d(8)}", f"TKT-{d(6)}"]), "ticket_id"
        if a == "hash":
            return f"#{rng.randint(10000, 999999)}", "ticket_id"
        return rng.choice([f"REQ{d(7)}", f"CHG{d(7)}", f"RITM{d(7)}"]), "ticket_id"
    if kind == "tracking":
        return tracking(rng, arg, lang), "tracking_number"
    if kind == "part":
        return part_number(rng, arg, lang), "part_number"
    if kind == "sku":
        return rng.choice([f"SKU-{d(5)}-{rstr(rng, UPPER, 3)}", f"{rstr(rng, UPPER, 2)}-{d(4)}-{rng.choice(['XS', 'S', 'M', 'L', 'XL'])}",
                           ean13(rng), f"{rstr(rng, UPPER, 3)}{d(6)}"]), "sku"
    if kind == "ean":
        return ean13(rng), "ean"
    if kind == "version":
        return version(rng), "version"
    if kind == "commit":
        return (rstr(rng, HEX, rng.choice([7, 8])) if arg == "short" else rstr(rng, HEX, 40)), "commit_hash"
    if kind == "sha256":
        return rstr(rng, HEX, 64), "hash"
    if kind == "md5":
        return rstr(rng, HEX, 32), "hash"
    if kind == "uuid":
        return uuid4(rng), "uuid"
    if kind == "digest":
        return "sha256:" + rstr(rng, HEX, 64), "docker_digest"
    if kind == "amount":
        return amount(rng, lang, bare=(arg == "bare")), "amount"
    if kind == "qty":
        if arg == "n":
            return str(rng.randint(1, 500)), "quantity"
        return rng.choice(QTY[lang]).format(n=rng.randint(2, 40)), "quantity"
    if kind == "date":
        yy, mm, dd = random_ymd(rng, 2024, 2026)
        style = arg or rng.choice(["num", "long", "wd", "short", "num", "iso"])
        return format_date(rng, lang, yy, mm, dd, style), "date"
    if kind == "ts":
        yy, mm, dd = random_ymd(rng, 2024, 2025)
        return format_date(rng, lang, yy, mm, dd, arg or "ts"), "date"
    if kind == "time":
        hi = 11 if arg == "am" else 18
        return f"{rng.randint(8, hi)}:{rng.choice(['00', '15', '30', '45'])}", "time"
    if kind == "pk":
        return stripe_publishable(rng), "stripe_publishable_key"
    if kind == "room":
        return rng.choice(ROOMS[lang]).format(a=rng.randint(0, 6), b=rng.randint(1, 40), n=rng.randint(1, 320), L=rng.choice("ABCDEF")), "room_number"
    if kind == "flight":
        return rng.choice([f"{rng.choice(AIRLINES)} {rng.randint(100, 9999)}", f"{rng.choice(AIRLINES)}{rng.randint(10, 9999)}"]), "flight_number"
    if kind == "isbn":
        return isbn13(rng), "isbn"
    if kind == "model":
        return rng.choice(MODELS), "model_number"
    if kind == "status":
        return str(rng.choice([400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504])), "http_status"
    if kind == "port":
        return str(rng.choice([8080, 5432, 3306, 6379, 27017, 443, 8443, 9200, 5672, 3000, 8000, 9090, 1433])), "port"
    if kind == "line":
        return str(rng.randint(12, 980)), "line_number"
    if kind == "product":
        return rng.choice(PRODUCTS), "product_name"
    if kind == "org":
        return rng.choice(ORGS), "organization"
    if kind == "url":
        return rng.choice(DOC_URLS), "url"
    if kind == "policy":
        return rng.choice([f"POL-{d(8)}", f"{rstr(rng, UPPER, 2)}{d(9)}", f"{d(3)}/{d(6)}/{d(2)}", f"HH-{y}-{d(6)}"]), "policy_number"
    if kind == "cust":
        return rng.choice([f"KD-{d(6)}", f"C{d(7)}", f"{d(8)}", f"CUST-{d(5)}", f"CL{d(6)}"]), "customer_number"
    if kind == "booking":
        return rstr(rng, UPPER + "23456789", 6), "booking_reference"
    if kind == "quote":
        return rng.choice([f"Q-{y}-{d(4)}", f"AN-{d(6)}", f"DEV-{y}-{d(3)}"]), "quote_number"
    if kind == "keyid":
        return rstr(rng, HEX, 40), "key_id"
    if kind == "clientid":
        return digits(rng, 21), "client_id"
    if kind == "routing":
        return rng.choice(["021000021", "026009593", "121000248", "011000138", "322271627"]), "routing_number"
    if kind == "build":
        return rng.choice([f"#{rng.randint(100, 9999)}", f"build {rng.randint(1000, 99999)}"]), "build_number"
    if kind == "pid":
        return str(rng.randint(200, 65000)), "process_id"
    if kind == "duration":
        return rng.choice([f"{rng.randint(2, 999)}ms", f"{rng.randint(1, 59)}.{d(2)}s", f"{rng.randint(1, 20)}m{rng.randint(0, 59)}s"]), "duration"
    if kind == "size":
        return rng.choice([f"{rng.randint(1, 900)} MB", f"{rng.randint(1, 64)}Gi", f"{rng.randint(1, 999)}.{d(1)} kB", f"{rng.randint(1, 16)} GB"]), "size"
    if kind == "objectid":
        return rstr(rng, HEX, 24), "hash"
    if kind == "senderid":
        return digits(rng, 12), "client_id"
    if kind == "fbappid":
        return f"1:{digits(rng, 12)}:web:{rstr(rng, HEX, 22)}", "app_id"
    if kind == "bic":
        return rng.choice(["COBADEFFXXX", "DEUTDEFF", "GENODEF1S04", "INGDDEFFXXX", "BYLADEM1001", "BNPAFRPPXXX", "CRLYFRPP",
                           "CAIXESBBXXX", "BSCHESMM", "UNCRITMM", "BCITITMM", "INGBNL2A", "RABONL2U", "ABNANL2A", "CGDIPTPL",
                           "BCOMPTPL", "GEBABEBB", "KREDBEBB"]), "bic"
    if kind == "creditor":
        return f"{rng.choice(['DE', 'FR', 'ES', 'IT', 'NL', 'PT'])}{digits(rng, 2)}ZZZ{digits(rng, 11)}", "creditor_id"
    if kind == "pubkey":
        body = bytes.fromhex("30820122300d06092a864886f70d01010105000382010f003082010a0282010100") + _rand_bytes(rng, 262)
        return "-----BEGIN PUBLIC KEY-----\n" + _wrap(base64.b64encode(body).decode(), 64) + "\n-----END PUBLIC KEY-----", "public_key"
    if kind == "sshpub":
        body = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + _rand_bytes(rng, 32)
        return "ssh-ed25519 " + base64.b64encode(body).decode(), "public_key"
    if kind == "cert":
        body = bytes.fromhex("308203") + _rand_bytes(rng, 700)
        return "-----BEGIN CERTIFICATE-----\n" + _wrap(base64.b64encode(body).decode(), 64) + "\n-----END CERTIFICATE-----", "certificate"
    if kind == "awsacct":
        return digits(rng, 12), "account_id"
    if kind == "ghclientid":
        return "Iv1." + rstr(rng, HEX, 16), "client_id"
    if kind == "expiry":
        return f"{rng.randint(1, 12):02d}/{rng.randint(25, 31)}", "card_expiry"
    if kind == "percent":
        return f"{rng.randint(1, 99)}.{d(1)}%", "percent"
    raise KeyError(kind)
